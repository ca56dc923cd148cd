"""What is in projects: their tasks' and models' tags, their own tags, the parents of their
tasks, and what stands in the way of deleting one (projects.validate_delete)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec
import psycopg
from sqlalchemy import ColumnElement, Connection, Select, func, not_, select
from sqlalchemy.exc import DataError

from tasktrack.domain import projects as project_rules
from tasktrack.domain.errors import BadFilter, ProjectNotFound
from tasktrack.queries.filter_request import check_pattern
from tasktrack.queries.filters import array_condition
from tasktrack.queries.project_stats import descendants
from tasktrack.store.tables import models, projects, tasks


class TagFilter(msgspec.Struct, frozen=True, kw_only=True):
    tags: list[str] | None = None
    system_tags: list[str] | None = None


class Tags(msgspec.Struct, frozen=True, kw_only=True):
    tags: list[str]
    system_tags: list[str]


def with_children(conn: Connection, company: str, ids: Sequence[str]) -> list[str]:
    """These projects' ids and every one below them."""
    below = descendants(conn, company, ids)
    return sorted({*ids, *(c["id"] for p in ids for c in below[p])})


def _tags_of(
    conn: Connection,
    table: Any,
    where: list[ColumnElement[bool]],
    include_system: bool,
    f: TagFilter | None,
) -> Tags:
    if f is not None and f.tags is not None:
        where.append(array_condition(table.c.tags, "tags", f.tags))
    if f is not None and f.system_tags is not None:
        where.append(array_condition(table.c.system_tags, "system_tags", f.system_tags))

    def distinct(col: Any) -> list[str]:
        stmt: Select[Any] = select(func.unnest(col).label("t")).where(*where).distinct()
        return sorted(r[0] for r in conn.execute(stmt))

    system = distinct(table.c.system_tags) if include_system else []
    return Tags(tags=distinct(table.c.tags), system_tags=system)


# Whose tags `tags` reads: the tasks or models in projects (and below them), or the projects'
# own.
TagsOf = Literal["tasks", "models", "projects"]


def tags(
    conn: Connection,
    company: str,
    of: TagsOf,
    project_ids: Sequence[str] | None,
    *,
    include_system: bool = False,
    f: TagFilter | None = None,
) -> Tags:
    """Tags of the company's tasks or models in these projects and below them, or the
    projects' own tags (every project without ids)."""
    table = {"tasks": tasks, "models": models, "projects": projects}[of]
    where: list[ColumnElement[bool]] = [table.c.company == company]
    if project_ids and of == "projects":
        where.append(projects.c.id.in_(list(project_ids)))
    elif project_ids:
        where.append(table.c.project.in_(with_children(conn, company, project_ids)))
    return _tags_of(conn, table, where, include_system, f)


def task_parents(
    conn: Connection,
    company: str,
    *,
    project_ids: Sequence[str] | None,
    state: Literal["active", "archived"] | None = None,
    task_name: str | None = None,
    include_subprojects: bool = True,
) -> list[dict[str, Any]]:
    """The distinct parents of the tasks in these projects (every project without any), by
    name: {id, name, project: {id, name}} (no project for a parent that has none)."""
    child = tasks.alias("child")
    archived = child.c.system_tags.contains(["archived"])
    where: list[ColumnElement[bool]] = [child.c.company == company, child.c.parent.is_not(None)]
    if project_ids:
        scope = with_children(conn, company, project_ids) if include_subprojects else project_ids
        where.append(child.c.project.in_(list(scope)))
    if state == "active":
        where.append(not_(archived))
    elif state == "archived":
        where.append(archived)
    parent_ids = select(child.c.parent).where(*where)
    stmt = (
        select(tasks.c.id, tasks.c.name, projects.c.id, projects.c.name)
        .select_from(tasks.outerjoin(projects, projects.c.id == tasks.c.project))
        .where(tasks.c.company == company, tasks.c.id.in_(parent_ids))
        .order_by(tasks.c.name, tasks.c.id)
    )
    if task_name is not None:
        check_pattern("task_name", task_name)
        stmt = stmt.where(tasks.c.name.regexp_match(task_name))
    try:
        rows = conn.execute(stmt).fetchall()
    except DataError as exc:
        if isinstance(exc.orig, psycopg.errors.InvalidRegularExpression):
            conn.rollback()
            raise BadFilter(f"invalid regular expression for task_name: {task_name!r}") from exc
        raise
    found = []
    for task_id, name, project_id, project_name in rows:
        entry: dict[str, Any] = {"id": task_id, "name": name}
        if project_id is not None:
            entry["project"] = {"id": project_id, "name": project_name}
        found.append(entry)
    return found


def validate_delete(conn: Connection, company: str, project_id: str) -> dict[str, int]:
    """projects.validate_delete: what the project and its descendants hold, as ClearML counts
    it (reports: none yet)."""
    rows = conn.execute(
        select(projects.c.id, projects.c.name, projects.c.system_tags).where(
            projects.c.company == company
        )
    ).fetchall()
    nodes = {
        r[0]: project_rules.ProjectNode(id=r[0], name=r[1], system_tags=list(r[2])) for r in rows
    }
    top = nodes.get(project_id)
    if top is None:
        raise ProjectNotFound(project_id)
    scope = [top, *(nodes[c["id"]] for c in descendants(conn, company, [project_id])[project_id])]
    ids = [p.id for p in scope]
    counts = conn.execute(
        select(
            tasks.c.project,
            func.count(),
            func.count().filter(not_(tasks.c.system_tags.contains(["archived"]))),
            func.count().filter(
                not_(tasks.c.system_tags.contains(["archived"])), tasks.c.type == "controller"
            ),
        )
        .where(tasks.c.company == company, tasks.c.project.in_(ids))
        .group_by(tasks.c.project)
    ).fetchall()
    per = {r[0]: r for r in counts}
    model_counts = conn.execute(
        select(
            models.c.project,
            func.count(),
            func.count().filter(not_(models.c.system_tags.contains(["archived"]))),
        )
        .where(models.c.company == company, models.c.project.in_(ids))
        .group_by(models.c.project)
    ).fetchall()
    per_model = {r[0]: r for r in model_counts}
    contents = {
        p: project_rules.Contents(
            tasks=per[p][2] if p in per else 0,
            controllers=per[p][3] if p in per else 0,
            models=per_model[p][2] if p in per_model else 0,
        )
        for p in {*per, *per_model}
    }
    check = project_rules.delete_check(scope, contents)
    plain = [p.id for p in scope if project_rules.kind(p) is None]
    return {
        "tasks": sum(per[p][1] for p in plain if p in per),
        "non_archived_tasks": check["non_archived_tasks"],
        "models": sum(per_model[p][1] for p in plain if p in per_model),
        "non_archived_models": check["non_archived_models"],
        "reports": 0,
        "non_archived_reports": 0,
        "pipelines": check["pipelines"],
        "datasets": check["datasets"],
    }
