"""A task's console output (events.get_task_log), read from its own stream."""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, Text, cast, select

from tasktrack.domain import codec
from tasktrack.domain import events as ev
from tasktrack.domain.errors import TaskNotFound
from tasktrack.store.tables import events, tasks

MAX_BATCH = 10_000


class LogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line, as ClearML's events.get_task_log answers it."""

    task: str
    type: str = "log"
    timestamp: int
    level: str
    worker: str | None
    msg: str
    iter: int | None


class TaskLog(msgspec.Struct, frozen=True, kw_only=True):
    events: list[LogEntry]
    returned: int
    total: int


def task_log(
    conn: Connection,
    company: str,
    task_id: str,
    *,
    batch_size: int = 500,
    navigate_earlier: bool = True,
    from_timestamp: int | None = None,
) -> TaskLog:
    """Up to `batch_size` lines: the latest ones first (navigate_earlier, before
    `from_timestamp` if given), or the earliest ones first (after `from_timestamp`)."""
    found = conn.execute(
        select(tasks.c.id).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if found is None:
        raise TaskNotFound(task_id)
    rows = conn.execute(
        select(events.c.schema_version, cast(events.c.data, Text))
        .where(events.c.stream_id == task_id, events.c.type == "TaskLogged")
        .order_by(events.c.stream_version)
    )
    lines: list[LogEntry] = []
    for schema_version, data in rows:
        e = codec.decode("TaskLogged", schema_version, data)
        assert isinstance(e, ev.TaskLogged)
        lines.extend(
            LogEntry(task=task_id, timestamp=t, level=lv, worker=w, msg=m, iter=i)
            for t, lv, w, m, i in zip(
                e.timestamps, e.levels, e.workers, e.msgs, e.iters, strict=True
            )
        )
    total = len(lines)
    lines.sort(key=lambda x: x.timestamp, reverse=navigate_earlier)  # stable: arrival order
    if from_timestamp is not None:
        if navigate_earlier:
            lines = [x for x in lines if x.timestamp < from_timestamp]
        else:
            lines = [x for x in lines if x.timestamp > from_timestamp]
    page = lines[: max(1, min(batch_size, MAX_BATCH))]
    return TaskLog(events=page, returned=len(page), total=total)
