"""projects.get_all_ex's additions to a project: its parent, its sub projects, the statistics
of its tasks and its descendants' (include_stats), and its own contents (check_own_contents)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, and_, case, func, not_, select

from tasktrack.domain import project_names as names
from tasktrack.domain.values import STATUSES
from tasktrack.store.tables import models, projects, tasks

_ARCHIVED = "archived"
_HIDDEN = "hidden"
# A task that ended in the last day counts as recently completed unless it is running again.
_NOT_COMPLETED = ("queued", "in_progress", "failed")


def _tree(conn: Connection, company: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(projects.c.id, projects.c.name).where(projects.c.company == company)
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def descendants(
    conn: Connection, company: str, ids: Sequence[str]
) -> dict[str, list[dict[str, str]]]:
    """Per project, every project below it ({id, name}, by name)."""
    tree = _tree(conn, company)
    named = {i: n for i, n in tree}
    return {
        p: [
            {"id": i, "name": n}
            for i, n in sorted(tree, key=lambda t: t[1])
            if p in named and names.is_under(n, named[p])
        ]
        for p in ids
    }


def parents(conn: Connection, company: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """{id, name} of each given project id."""
    rows = conn.execute(
        select(projects.c.id, projects.c.name).where(
            projects.c.company == company, projects.c.id.in_(list(ids))
        )
    ).fetchall()
    return {r[0]: {"id": r[0], "name": r[1]} for r in rows}


def _empty() -> dict[str, Any]:
    return {
        "status_count": {s: 0 for s in STATUSES},
        "total_tasks": 0,
        "total_runtime": 0,
        "completed_tasks_24h": 0,
        "last_task_run": None,
    }


def stats(
    conn: Connection,
    company: str,
    ids: Sequence[str],
    users: Sequence[str] | None = None,
    *,
    where: ColumnElement[bool] | None = None,
    search_hidden: bool = True,
    allowed: set[str] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """Per project, the statistics of its unarchived tasks and its descendants' ({"active":
    ...}, as ClearML's default `stats_for_state`), and its sub projects. `where` narrows the
    tasks counted, hidden ones only with `search_hidden`; `allowed` the descendants (the
    projects a children_type listing selected)."""
    children = descendants(conn, company, ids)
    if allowed is not None:
        children = {p: [c for c in found if c["id"] in allowed] for p, found in children.items()}
    scope = {p: [p, *(c["id"] for c in children[p])] for p in ids}
    every = sorted({x for members in scope.values() for x in members})
    since = datetime.now(UTC) - timedelta(hours=24)
    runtime = case(
        (
            tasks.c.completed > tasks.c.started,
            func.floor(func.extract("epoch", tasks.c.completed - tasks.c.started)),
        ),
        else_=0,
    )
    recent = case(
        (
            and_(tasks.c.completed > since, not_(tasks.c.status.in_(_NOT_COMPLETED))),
            1,
        ),
        else_=0,
    )
    stmt = (
        select(
            tasks.c.project,
            tasks.c.status,
            func.count(),
            func.sum(runtime),
            func.sum(recent),
            func.max(tasks.c.started),
        )
        .where(
            tasks.c.company == company,
            tasks.c.project.in_(every),
            not_(tasks.c.system_tags.contains([_ARCHIVED])),
        )
        .group_by(tasks.c.project, tasks.c.status)
    )
    if users:
        stmt = stmt.where(tasks.c.user_id.in_(list(users)))
    if where is not None:
        stmt = stmt.where(where)
    if not search_hidden:
        stmt = stmt.where(not_(tasks.c.system_tags.contains([_HIDDEN])))
    per_project: dict[str, list[Any]] = {}
    for row in conn.execute(stmt):
        per_project.setdefault(row[0], []).append(row)
    result: dict[str, dict[str, Any]] = {}
    for p in ids:
        active = _empty()
        for member in scope[p]:
            for _, status, count, run, done, started in per_project.get(member, []):
                active["status_count"][status] = active["status_count"].get(status, 0) + count
                active["total_tasks"] += count
                active["total_runtime"] += int(run or 0)
                active["completed_tasks_24h"] += int(done or 0)
                last = active["last_task_run"]
                if started is not None and (last is None or started > last):
                    active["last_task_run"] = started
        result[p] = {"active": active}
    return result, children


def own_contents(
    conn: Connection,
    company: str,
    ids: Sequence[str],
    users: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> dict[str, dict[str, int]]:
    """Per project, its own unarchived tasks and models (not its descendants'), of these users
    only if given (projects.get_all_ex check_own_contents)."""

    def counts(table: Any, extra: ColumnElement[bool] | None = None) -> dict[str, int]:
        stmt = (
            select(table.c.project, func.count())
            .where(
                table.c.company == company,
                table.c.project.in_(list(ids)),
                not_(table.c.system_tags.contains([_ARCHIVED])),
            )
            .group_by(table.c.project)
        )
        if users:
            stmt = stmt.where(table.c.user_id.in_(list(users)))
        if extra is not None:
            stmt = stmt.where(extra)
        return {r[0]: r[1] for r in conn.execute(stmt)}

    own_tasks = counts(tasks, where)
    own_models = counts(models) if where is None else {}
    return {p: {"own_tasks": own_tasks.get(p, 0), "own_models": own_models.get(p, 0)} for p in ids}


def dataset_stats(
    conn: Connection, company: str, ids: Sequence[str], users: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """projects.get_all_ex include_dataset_stats: per project with a task that has a runtime,
    {file_count, total_size} from its unarchived task updated last (ds_file_count,
    ds_total_size); a project without one is absent."""
    if not ids:
        return {}
    stmt = (
        select(tasks.c.project, tasks.c.runtime)
        .where(
            tasks.c.company == company,
            tasks.c.project.in_(list(ids)),
            not_(tasks.c.system_tags.any(_ARCHIVED)),
            tasks.c.runtime.is_not(None),
            tasks.c.runtime.cast(Text).not_in(["{}", "null"]),
        )
        .order_by(tasks.c.project, tasks.c.last_update.desc().nulls_last(), tasks.c.id.desc())
        .distinct(tasks.c.project)
    )
    if users:
        stmt = stmt.where(tasks.c.user_id.in_(list(users)))
    return {
        project: {
            "file_count": runtime.get("ds_file_count", 0),
            "total_size": runtime.get("ds_total_size", 0),
        }
        for project, runtime in conn.execute(stmt)
        if isinstance(runtime, dict) and runtime
    }
