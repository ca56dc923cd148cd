"""Registered workers as ClearML answers about them (get_all, get_count, and the workers of
each queue), read from their rows; their statistics are in queries/worker_stats.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection, Executable, and_, func, not_, select, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DataError

from tasktrack.domain import workers as rules
from tasktrack.domain.errors import BadFilter
from tasktrack.queries.filter_request import check_pattern, check_values
from tasktrack.store.tables import projects, queues, tasks, workers

# A last_seen beyond this (about 31 years) filters nothing more.
MAX_LAST_SEEN = 1_000_000_000


def execute(conn: Connection, stmt: Executable, params: dict[str, Any] | None = None) -> Any:
    """Run a read; a value PostgreSQL refuses (a NUL in a name, a number out of range) is a
    bad filter (400/16), not a server error."""
    try:
        result: Result[Any] = conn.execute(stmt, params or {})
        return result
    except DataError as exc:
        conn.rollback()
        raise BadFilter(f"invalid filter value: {exc.orig}") from exc


class IdName(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    name: str | None = None


class CurrentTask(IdName, frozen=True, kw_only=True, omit_defaults=True):
    running_time: int | None = None
    last_iteration: int | None = None


class QueueEntry(IdName, frozen=True, kw_only=True, omit_defaults=True):
    display_name: str | None  # no default: answered even when null, as ClearML does
    next_task: IdName | None = None
    num_tasks: int | None = None


class WorkerView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A registered worker, shaped as ClearML's workers.get_all answers."""

    id: str
    key: str
    user: IdName
    company: IdName
    ip: str | None = None
    register_time: datetime
    register_timeout: int
    last_activity_time: datetime
    last_report_time: datetime | None = None
    task: CurrentTask | None = None
    project: IdName | None = None
    queue: QueueEntry | None = None
    queues: list[QueueEntry] = []
    tags: list[str] = []
    system_tags: list[str] = []


class WorkerFilter(msgspec.Struct, frozen=True, kw_only=True):
    """get_all's and get_count's filters (last_seen: seconds; 0 or None: no filter)."""

    last_seen: int | None = 3600
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    worker_pattern: str | None = None


def _check(f: WorkerFilter) -> None:
    check_values("tags", f.tags)
    check_values("system_tags", f.system_tags)
    check_pattern("worker_pattern", f.worker_pattern)


def _where(company: str, f: WorkerFilter, now: datetime) -> list[Any]:
    _check(f)
    w = workers.c
    conds: list[Any] = [
        w.company == company,
        not_(w.gone),
        w.last_activity + w.timeout * text("interval '1 second'") > now,
    ]
    if f.last_seen:
        conds.append(
            w.last_activity >= now - timedelta(seconds=min(max(1, f.last_seen), MAX_LAST_SEEN))
        )
    for column, tags in ((w.tags, f.tags), (w.system_tags, f.system_tags)):
        include, exclude = rules.split_tags(tags)
        if include:
            conds.append(column.overlap(include))
        if exclude:
            conds.append(not_(column.overlap(exclude)))
    if f.worker_pattern:
        conds.append(w.id.regexp_match(rules.glob_regex(f.worker_pattern)))
    return conds


def count(conn: Connection, company: str, f: WorkerFilter, now: datetime) -> int:
    stmt = select(func.count()).select_from(workers).where(*_where(company, f, now))
    return int(execute(conn, stmt).scalar_one())


def get_all(conn: Connection, company: str, f: WorkerFilter, now: datetime) -> list[WorkerView]:
    w, t, p = workers.c, tasks.c, projects.c
    stmt = (
        select(
            workers,
            t.name.label("task_name"),
            t.active_duration,
            t.last_iteration,
            t.project.label("project_id"),
            p.name.label("project_name"),
        )
        .select_from(
            workers.outerjoin(tasks, and_(t.id == w.task, t.company == w.company)).outerjoin(
                projects, and_(p.id == t.project, p.company == w.company)
            )
        )
        .where(*_where(company, f, now))
        .order_by(w.id)
    )
    rows = execute(conn, stmt).mappings().all()
    queue_ids = sorted({q for r in rows for q in [*r["queues"], r["queue"]] if q})
    names: dict[str, tuple[str, str | None]] = {}
    if queue_ids:
        found = execute(
            conn,
            select(queues.c.id, queues.c.name, queues.c.display_name).where(
                queues.c.company == company, queues.c.id.in_(queue_ids)
            ),
        )
        names = {r.id: (r.name, r.display_name) for r in found}
    return [_view(company, r, names) for r in rows]


def _view(company: str, r: Any, names: dict[str, tuple[str, str | None]]) -> WorkerView:
    entries = [
        QueueEntry(
            id=q, name=names.get(q, (None, None))[0], display_name=names.get(q, (None, None))[1]
        )
        for q in r["queues"]
    ]
    queue = next((e for e in entries if e.id == r["queue"]), None) if r["queue"] else None
    task = None
    if r["task"]:
        task = CurrentTask(
            id=r["task"],
            name=r["task_name"],
            running_time=(r["active_duration"] or 0) * 1000,
            last_iteration=r["last_iteration"],
        )
    project = IdName(id=r["project_id"], name=r["project_name"]) if r["project_id"] else None
    return WorkerView(
        id=r["id"],
        key=_key(company, r["user_id"], r["id"]),
        user=IdName(id=r["user_id"], name=r["user_id"]),
        company=IdName(id=company, name=company),
        ip=r["ip"],
        register_time=r["register_time"],
        register_timeout=r["timeout"],
        last_activity_time=r["last_activity"],
        last_report_time=r["last_report"],
        task=task,
        project=project,
        queue=queue,
        queues=entries,
        tags=list(r["tags"]),
        system_tags=list(r["system_tags"]),
    )


class QueueWorker(msgspec.Struct, frozen=True, kw_only=True):
    """A registered worker listening to a queue, as ClearML's queues.get_all_ex lists it."""

    name: str
    ip: str | None
    key: str
    task: IdName | None


def listening(
    conn: Connection, company: str, queue_ids: Sequence[str], now: datetime
) -> dict[str, list[QueueWorker]]:
    """The registered workers listening to each of these queues (for the queues service)."""
    found: dict[str, list[QueueWorker]] = {q: [] for q in queue_ids}
    if not queue_ids:
        return found
    everyone = WorkerFilter(last_seen=0)
    stmt = (
        select(workers, tasks.c.name.label("task_name"))
        .select_from(
            workers.outerjoin(
                tasks, and_(tasks.c.id == workers.c.task, tasks.c.company == workers.c.company)
            )
        )
        .where(*_where(company, everyone, now), workers.c.queues.overlap(list(queue_ids)))
        .order_by(workers.c.id)
    )
    for r in execute(conn, stmt).mappings():
        task = IdName(id=r["task"], name=r["task_name"]) if r["task"] else None
        entry = QueueWorker(
            name=r["id"], ip=r["ip"], key=_key(company, r["user_id"], r["id"]), task=task
        )
        for q in r["queues"]:
            if q in found:
                found[q].append(entry)
    return found


def _key(company: str, user: str, worker: str) -> str:
    """ClearML's key of a worker entry."""
    return f"worker_{company}_{user}_{worker}"
