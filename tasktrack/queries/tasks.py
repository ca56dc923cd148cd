"""Reading tasks: get_by_id, a simple get_all, and a task's status history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, Select, and_, false, not_, select

from tasktrack.domain.errors import BadFilter, TaskNotFound
from tasktrack.queries.views import (
    LastMetrics,
    LastMetricsEvent,
    StatusHistoryEntry,
    TaskView,
    task_view,
)
from tasktrack.store.tables import task_metrics, task_status_history, tasks
from tasktrack.store.taskrows import COLUMNS, state_from_row

MAX_PAGE_SIZE = 500
_ROW = [tasks.c[name] for name in COLUMNS]
_METRIC_FIELDS = tuple(f for f in LastMetricsEvent.__struct_fields__)


def last_metrics(conn: Connection, ids: Sequence[str]) -> dict[str, LastMetrics]:
    """task id -> md5(metric) -> md5(variant) -> aggregate."""
    if not ids:
        return {}
    columns = [task_metrics.c.task_id, task_metrics.c.metric_hash, task_metrics.c.variant_hash]
    columns += [task_metrics.c[name] for name in _METRIC_FIELDS]
    out: dict[str, LastMetrics] = {}
    for row in conn.execute(select(*columns).where(task_metrics.c.task_id.in_(ids))):
        task_id, metric_hash, variant_hash, *values = row
        event = LastMetricsEvent(**dict(zip(_METRIC_FIELDS, values, strict=True)))
        out.setdefault(task_id, {}).setdefault(metric_hash, {})[variant_hash] = event
    return out


def _views(conn: Connection, rows: Sequence[Any]) -> list[TaskView]:
    states = [state_from_row(row).state for row in rows]
    metrics = last_metrics(conn, [s.id for s in states])
    return [task_view(s, metrics.get(s.id, {})) for s in states]


def get_by_id(conn: Connection, company: str, task_id: str) -> TaskView:
    """The task, or 400/101 (unknown, deleted and another company's look the same)."""
    row = conn.execute(
        select(*_ROW).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if row is None:
        raise TaskNotFound(task_id)
    return _views(conn, [row])[0]


class SimpleFilter(msgspec.Struct, frozen=True, kw_only=True):
    """The filters of get_all that need no filter language: any-of lists and paging."""

    id: list[str] | None = None
    status: list[str] | None = None
    project: list[str] | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    type: list[str] | None = None
    user: list[str] | None = None
    parent: list[str] | None = None
    page: int = 0
    page_size: int = MAX_PAGE_SIZE
    order_by: list[str] = []
    search_hidden: bool = False


def _any_of(stmt: Select[Any], column: Any, values: list[str] | None) -> Select[Any]:
    if values is None:
        return stmt
    return stmt.where(column.in_(values)) if values else stmt.where(false())


def get_all(conn: Connection, company: str, f: SimpleFilter) -> list[TaskView]:
    if f.page < 0 or f.page_size < 1:
        raise BadFilter("page must be >= 0 and page_size >= 1")
    stmt = select(*_ROW).where(tasks.c.company == company)
    stmt = _any_of(stmt, tasks.c.id, f.id)
    stmt = _any_of(stmt, tasks.c.status, f.status)
    stmt = _any_of(stmt, tasks.c.project, f.project)
    stmt = _any_of(stmt, tasks.c.type, f.type)
    stmt = _any_of(stmt, tasks.c.user_id, f.user)
    stmt = _any_of(stmt, tasks.c.parent, f.parent)
    if f.tags:
        stmt = stmt.where(tasks.c.tags.overlap(f.tags))
    if f.system_tags:
        stmt = stmt.where(tasks.c.system_tags.overlap(f.system_tags))
    if not f.search_hidden and f.id is None:
        stmt = stmt.where(not_(tasks.c.system_tags.contains(["hidden"])))
    order = []
    for key in f.order_by:
        name = key.lstrip("-")
        column = tasks.c.get("user_id" if name == "user" else name)
        if column is None:
            raise BadFilter(f"cannot order by {name!r}")
        order.append(
            column.desc().nulls_last() if key.startswith("-") else column.asc().nulls_last()
        )
    order.append(tasks.c.id.asc())
    size = min(f.page_size, MAX_PAGE_SIZE)
    stmt = stmt.order_by(*order).limit(size).offset(f.page * size)
    return _views(conn, conn.execute(stmt).fetchall())


def status_history(conn: Connection, company: str, task_id: str) -> list[StatusHistoryEntry]:
    """Every status change of a live task, oldest first (400/101 for an unknown task)."""
    exists = conn.execute(
        select(tasks.c.id).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if exists is None:
        raise TaskNotFound(task_id)
    h = task_status_history.c
    rows = conn.execute(
        select(
            h.stream_version,
            h.position,
            h.from_status,
            h.to_status,
            h.reason,
            h.message,
            h.user_id,
            h.at,
            h.force,
        )
        .where(and_(h.task_id == task_id, h.company == company))
        .order_by(h.stream_version)
    )
    return [
        StatusHistoryEntry(
            version=r[0],
            position=r[1],
            from_status=r[2],
            to_status=r[3],
            reason=r[4],
            message=r[5],
            user=r[6],
            at=r[7],
            force=r[8],
        )
        for r in rows
    ]
