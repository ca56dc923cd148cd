"""Every order tasktrack takes about reports (reports.*): one frozen Struct per command, with
ClearML's field names so an HTTP body decodes straight into it, each naming its endpoint.

A report is a task (type `report`, system tags `hidden` and `reports`) kept in a hidden
`.reports` project under the project it belongs to: these commands are task commands with a
report's rules, and their facts are the tasks' own events (domain/report_docs.py).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from tasktrack.domain.commands import Command
from tasktrack.domain.limits import Key

Name = Annotated[str, Meta(min_length=3)]


class CreateReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.create"
    summary = "Create a report (a task of type report in the project's hidden .reports project)"
    nulls_absent = True

    name: Name
    tags: list[Key] = []
    comment: str = ""
    report: str | UnsetType = UNSET
    report_assets: list[str] | UnsetType = UNSET
    project: Key | None = None  # None: the top-level .reports project


class UpdateReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.update"
    summary = "Update a report (its text and assets only while it is a draft)"
    nulls_absent = True

    task: Key
    name: Name | UnsetType = UNSET
    tags: list[Key] | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    report: str | UnsetType = UNSET
    report_assets: list[str] | UnsetType = UNSET


class PublishReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.publish"
    summary = "Publish a report (whatever its status)"

    task: Key
    message: str = ""


class ArchiveReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.archive"
    summary = "Archive a report"

    task: Key
    message: str = ""


class UnarchiveReport(ArchiveReport, frozen=True, kw_only=True):
    endpoint = "reports.unarchive"
    summary = "Unarchive a report"


class MoveReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.move"
    summary = "Move a report to another project's .reports project (an emptied one goes)"

    task: Key
    # UNSET and None differ: `project: null` moves the report to the top-level .reports.
    project: Key | UnsetType | None = UNSET
    project_name: str | UnsetType | None = UNSET


class DeleteReport(Command, frozen=True, kw_only=True):
    endpoint = "reports.delete"
    summary = "Delete a report (a published one needs force; an emptied .reports project goes)"

    task: Key
    force: bool = False


def declared() -> list[type[Command]]:
    """Every report command that names an endpoint (the registry tests cross-check them)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]
