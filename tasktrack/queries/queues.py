"""Reading queues: by id, by filters (get_all / get_all_ex), their first task and length."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Connection, Row, and_, false, func, not_, select, true
from sqlalchemy.exc import DataError

from tasktrack.domain.errors import BadFilter, QueueNotFound
from tasktrack.domain.queues import DEFAULT_TAG, HIDDEN_TAGS
from tasktrack.queries.filter_request import check_pattern, check_values
from tasktrack.store.tables import queue_entries, queues, tasks

MAX_PAGE_SIZE = 500


class EntryView(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    added: datetime


class TaskRef(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str | None = None


class EntryInfo(msgspec.Struct, frozen=True, kw_only=True):
    """get_all_ex's entry: the task's id and name."""

    task: TaskRef
    added: datetime


class QueueView(msgspec.Struct, frozen=True, kw_only=True):
    """ClearML's queue object (metadata keyed by key, as ClearML answers it)."""

    id: str
    name: str
    display_name: str | None = None
    company: str
    user: str
    created: datetime
    last_update: datetime
    tags: list[str]
    system_tags: list[str]
    metadata: dict[str, Any]
    entries: list[EntryView]


class QueueInfo(msgspec.Struct, frozen=True, kw_only=True):
    """get_all_ex's queue: entries with their tasks' names, and the workers serving it."""

    id: str
    name: str
    display_name: str | None = None
    company: str
    user: str
    created: datetime
    last_update: datetime
    tags: list[str]
    system_tags: list[str]
    metadata: dict[str, Any]
    entries: list[EntryInfo]
    workers: list[dict[str, Any]] = []


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    id: list[str] | str | None = None
    name: str | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    search_hidden: bool = False
    max_task_entries: int | None = None
    page: int = 0
    page_size: int = MAX_PAGE_SIZE


_COLUMNS = [
    queues.c[n]
    for n in (
        "id",
        "name",
        "display_name",
        "company",
        "user_id",
        "created",
        "last_update",
        "tags",
        "system_tags",
        "metadata",
    )
]


def _fields(row: Row[Any]) -> dict[str, Any]:
    fields = {str(k): v for k, v in row._asdict().items()}
    fields["user"] = fields.pop("user_id")
    fields["metadata"] = {m["key"]: m for m in fields["metadata"] or []}
    return fields


def _entries(
    conn: Connection, company: str, ids: list[str], limit: int | None, names: bool
) -> dict[str, list[dict[str, Any]]]:
    """Each queue's entries in order (the first `limit` of each), with task names if asked."""
    e = queue_entries.c
    place = func.row_number().over(partition_by=e.queue_id, order_by=e.rank).label("place")
    inner = (
        select(e.queue_id, e.task_id, e.added, e.rank, place)
        .where(e.company == company, e.queue_id.in_(ids))
        .subquery()
    )
    stmt = select(inner.c.queue_id, inner.c.task_id, inner.c.added)
    if names:
        stmt = stmt.add_columns(tasks.c.name).outerjoin(
            tasks, and_(tasks.c.id == inner.c.task_id, tasks.c.company == company)
        )
    if limit is not None and limit > 0:
        stmt = stmt.where(inner.c.place <= limit)
    stmt = stmt.order_by(inner.c.queue_id, inner.c.rank)
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for row in conn.execute(stmt):
        values = tuple(row)
        task: Any = {"id": values[1], "name": values[3]} if names else values[1]
        out[values[0]].append({"task": task, "added": values[2]})
    return out


def get_by_id(
    conn: Connection, company: str, queue_id: str, max_task_entries: int | None = None
) -> QueueView:
    row = conn.execute(
        select(*_COLUMNS).where(queues.c.company == company, queues.c.id == queue_id)
    ).fetchone()
    if row is None:
        raise QueueNotFound(f"Invalid queue id: id={queue_id}", id=queue_id)
    fields = _fields(row)
    fields["entries"] = _entries(conn, company, [queue_id], max_task_entries, False)[queue_id]
    view: QueueView = msgspec.convert(fields, QueueView)
    return view


def _tag_filter(column: Any, wanted: list[str]) -> Any:
    """ClearML's tag filter: every plain tag present, every "-tag" absent."""
    cond = true()
    for tag in wanted:
        if tag.startswith("-"):
            cond = cond & ~column.contains([tag[1:]])
        elif tag:
            cond = cond & column.contains([tag])
    return cond


def _rows(conn: Connection, company: str, f: QueueFilter) -> list[Row[Any]]:
    if f.page < 0 or f.page_size < 1:
        raise BadFilter("page must be >= 0 and page_size >= 1")
    ids = [f.id] if isinstance(f.id, str) else f.id
    check_values("id", ids)
    check_pattern("name", f.name)
    stmt = select(*_COLUMNS).where(queues.c.company == company)
    if ids is not None:
        stmt = stmt.where(queues.c.id.in_(ids) if ids else false())
    if f.name is not None:
        stmt = stmt.where(queues.c.name.regexp_match(f.name))
    if f.tags:
        stmt = stmt.where(_tag_filter(queues.c.tags, f.tags))
    if f.system_tags:
        stmt = stmt.where(_tag_filter(queues.c.system_tags, f.system_tags))
    # Hidden queues (ClearML's services.queues.hidden_tags) only when asked for by id, name
    # or search_hidden.
    if not (f.search_hidden or ids or f.name):
        stmt = stmt.where(not_(queues.c.system_tags.overlap(list(HIDDEN_TAGS))))
    size = min(f.page_size, MAX_PAGE_SIZE)
    offset = min(f.page * size, 2**63 - 1)
    stmt = stmt.order_by(queues.c.created, queues.c.id).limit(size).offset(offset)
    try:
        return list(conn.execute(stmt).fetchall())
    except DataError as exc:
        if isinstance(exc.orig, psycopg.errors.InvalidRegularExpression):
            conn.rollback()
            raise BadFilter(f"invalid regular expression for name: {f.name!r}") from exc
        raise


def get_all(conn: Connection, company: str, f: QueueFilter) -> list[QueueView]:
    rows = _rows(conn, company, f)
    entries = _entries(conn, company, [r.id for r in rows], f.max_task_entries, False)
    return [msgspec.convert({**_fields(r), "entries": entries[r.id]}, QueueView) for r in rows]


def get_all_ex(conn: Connection, company: str, f: QueueFilter) -> list[QueueInfo]:
    rows = _rows(conn, company, f)
    entries = _entries(conn, company, [r.id for r in rows], f.max_task_entries, True)
    return [msgspec.convert({**_fields(r), "entries": entries[r.id]}, QueueInfo) for r in rows]


def has_default(conn: Connection, company: str) -> bool:
    """Whether a queue of the company has the `default` system tag."""
    found = conn.execute(
        select(queues.c.id)
        .where(queues.c.company == company, queues.c.system_tags.contains([DEFAULT_TAG]))
        .limit(1)
    ).fetchone()
    return found is not None


def _require(conn: Connection, company: str, queue_id: str) -> None:
    found = conn.execute(
        select(queues.c.id).where(queues.c.company == company, queues.c.id == queue_id)
    ).fetchone()
    if found is None:
        raise QueueNotFound(f"Invalid queue id: id={queue_id}", id=queue_id)


def peek_task(conn: Connection, company: str, queue_id: str) -> str | None:
    """The task first in line, without taking it."""
    _require(conn, company, queue_id)
    e = queue_entries.c
    row = conn.execute(
        select(e.task_id)
        .where(e.company == company, e.queue_id == queue_id)
        .order_by(e.rank)
        .limit(1)
    ).fetchone()
    return None if row is None else str(row[0])


def num_entries(conn: Connection, company: str, queue_id: str) -> int:
    _require(conn, company, queue_id)
    e = queue_entries.c
    count = conn.execute(
        select(func.count()).where(e.company == company, e.queue_id == queue_id)
    ).scalar_one()
    return int(count)
