"""Reading tasks: get_by_id, get_all (its filter language is in filters.py), status history,
the task types in use."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from msgspec import UNSET, structs
from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import DataError

from tasktrack.domain.errors import BadFilter, TaskNotFound
from tasktrack.queries import filters
from tasktrack.queries.filter_request import (
    MAX_PAGE_SIZE,
    GetAllRequest,
    check_expanded,
    check_values,
    plan,
    request_from,
)
from tasktrack.queries.listing import count_matching
from tasktrack.queries.project_contents import with_children
from tasktrack.queries.project_stats import descendants
from tasktrack.queries.views import (
    LastMetrics,
    LastMetricsEvent,
    StatusHistoryEntry,
    TaskView,
    task_view,
)
from tasktrack.store.tables import task_metrics, task_status_history, tasks
from tasktrack.store.taskrows import COLUMNS, state_from_row

__all__ = [
    "MAX_PAGE_SIZE",
    "GetAllRequest",
    "count",
    "get_all",
    "get_by_id",
    "last_metrics",
    "request_from",
    "status_history",
    "task_types",
]

_ROW = [tasks.c[name] for name in COLUMNS]
R = TypeVar("R", bound=GetAllRequest)
_METRIC_FIELDS = tuple(f for f in LastMetricsEvent.__struct_fields__)


def last_metrics(conn: Connection, ids: Sequence[str]) -> dict[str, LastMetrics]:
    """task id -> md5(metric) -> md5(variant) -> aggregate."""
    if not ids:
        return {}
    columns = [task_metrics.c.task_id, task_metrics.c.metric_hash, task_metrics.c.variant_hash]
    columns += [task_metrics.c[name] for name in _METRIC_FIELDS]
    out: dict[str, LastMetrics] = {}
    # In hash order, as ClearML answers them (its test of model events reads the first).
    query = (
        select(*columns)
        .where(task_metrics.c.task_id.in_(ids))
        .order_by(task_metrics.c.metric_hash, task_metrics.c.variant_hash)
    )
    for row in conn.execute(query):
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


def get_all(
    conn: Connection,
    company: str,
    request: GetAllRequest,
    window: tuple[int, int] | None = None,
) -> list[TaskView]:
    """The company's tasks that pass every filter of the request (SEMANTICS §5), one page
    (or `window`: start and size, for a scroll)."""
    if request.include_subprojects:
        request = with_subprojects(conn, company, request)
    query = filters.select_tasks(_ROW, company, plan(request, window))
    return _views(conn, _run(conn, request, query).fetchall())


def count(conn: Connection, company: str, request: GetAllRequest, limit: int | None) -> int:
    """How many of the company's tasks pass every filter of the request (at most `limit`)."""
    if request.include_subprojects:
        request = with_subprojects(conn, company, request)
    listing = filters.select_tasks([tasks.c.id], company, plan(request))
    with _bad_patterns(request):
        return count_matching(conn, listing, limit)


def _run(conn: Connection, request: GetAllRequest, query: Any) -> Any:
    with _bad_patterns(request):
        return conn.execute(query)


@contextmanager
def _bad_patterns(request: GetAllRequest) -> Iterator[None]:
    """A name or comment pattern PostgreSQL cannot compile is the caller's 400/16, not a 500."""
    try:
        yield
    except DataError as exc:
        if isinstance(exc.orig, psycopg.errors.InvalidRegularExpression):
            given = {f: p for f, p in (("name", request.name), ("comment", request.comment)) if p}
            raise BadFilter(str(exc.orig).strip(), **given) from exc
        raise


def with_subprojects(conn: Connection, company: str, request: R) -> R:
    """The request with every project below the projects its `project` filter names added
    (include_subprojects, as ClearML: each named id is followed by its descendants; `-`
    exclusions and `__$` operators stay as they are)."""
    given = request.project
    if given is UNSET or given is None:
        return request
    values = [given] if isinstance(given, str) else given
    plain = [v for v in values if v and not v.startswith(("-", "__$"))]
    if not plain:
        return request
    check_values("project", values)
    below = descendants(conn, company, plain)
    expanded: list[str | None] = []
    for v in values:
        expanded.append(v)
        if v in below:
            expanded += [c["id"] for c in below[v] if c["id"] not in values]
    unique = list(dict.fromkeys(expanded))
    check_expanded(unique)
    return structs.replace(request, project=unique)


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


def task_types(conn: Connection, company: str, projects: Sequence[str] = ()) -> list[str]:
    """tasks.get_types: the distinct types of the company's tasks, of these projects and the
    projects below them only if any are given (an empty list is all of them), sorted."""
    query = select(tasks.c.type).distinct().where(tasks.c.company == company)
    if projects:
        query = query.where(tasks.c.project.in_(with_children(conn, company, projects)))
    return [row[0] for row in conn.execute(query.order_by(tasks.c.type))]
