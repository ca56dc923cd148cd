"""Decisions about projects (a minimal service: create; names unique within a company)."""

from __future__ import annotations

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.editing import clean_tags
from tasktrack.domain.errors import ExpectedUniqueData, InvalidProjectName


def clean_project_name(name: str) -> str:
    trimmed = name.strip()
    if not trimmed:
        raise InvalidProjectName("Invalid project name: it must not be empty", name=name)
    return trimmed


def create(
    c: cmd.CreateProject, ctx: Context, project_id: str, existing: str | None
) -> list[ev.AnyEvent]:
    """`existing` is the id of a project of this company with that name, if any."""
    name = clean_project_name(c.name)
    if existing is not None:
        raise ExpectedUniqueData(
            f"Project name already exists: {name!r} (id={existing})", name=name, id=existing
        )
    return [
        ev.ProjectCreated(
            at=ctx.now,
            by=ctx.user,
            project_id=project_id,
            company=ctx.company,
            name=name,
            description=c.description,
            tags=clean_tags(c.tags),
            system_tags=clean_tags(c.system_tags, "system_tags"),
            default_output_destination=c.default_output_destination,
        )
    ]
