"""A task's console output (events.get_task_log), paged in SQL from `task_log_lines`.

A page reads at most `batch_size` rows through the (company, task_id, timestamp, seq) index,
and the total is the task's last line number (one probe of the primary key): the cost follows
the page asked for, not the length of the task's log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
from sqlalchemy import Connection, and_, func, or_, select

from tasktrack.domain.errors import TaskNotFound
from tasktrack.store.tables import task_log_lines, tasks

MAX_BATCH = 10_000
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_json = msgspec.json.Decoder(str)


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
    metrics: Mapping[str, Sequence[str] | None] | None = None,
) -> TaskLog:
    """Up to `batch_size` lines: the latest ones first (navigate_earlier, before
    `from_timestamp` if given), or the earliest ones first (after `from_timestamp`).
    Lines with the same timestamp come in arrival order either way."""
    lines = task_log_lines.c
    # The total is the last line's number: spelled as ORDER BY … LIMIT 1 (not max()), the
    # primary key's order, so no plan reads the task's lines through the timestamp index.
    last = (
        select(lines.seq)
        .where(lines.company == company, lines.task_id == task_id)
        .order_by(lines.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    found = conn.execute(
        select(func.coalesce(last, 0)).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if found is None:
        raise TaskNotFound(task_id)
    size = max(1, min(batch_size, MAX_BATCH))
    wanted = [lines.company == company, lines.task_id == task_id]
    total = int(found[0])
    if metrics:
        # Lines of some metrics only (ClearML's `metrics`): their total is a count.
        wanted.append(
            or_(
                *(
                    and_(lines.metric == m, lines.variant.in_(list(vs)))
                    if vs
                    else lines.metric == m
                    for m, vs in metrics.items()
                )
            )
        )
        total = int(conn.execute(select(func.count()).where(*wanted)).scalar_one())
    if from_timestamp is not None:
        # Beyond 64 bits: no line is past the bound, or every line is before it.
        if (from_timestamp <= _INT64_MIN) if navigate_earlier else (from_timestamp >= _INT64_MAX):
            return TaskLog(events=[], returned=0, total=total)
        if navigate_earlier and from_timestamp <= _INT64_MAX:
            wanted.append(lines.timestamp < from_timestamp)
        elif not navigate_earlier and from_timestamp >= _INT64_MIN:
            wanted.append(lines.timestamp > from_timestamp)
    # Lines of one timestamp come in arrival order both ways, so the page's order, (timestamp
    # DESC, seq) going back, is no index's. Without statistics the planner would sort every
    # line of the task to take the first ones; so the page is cut in two steps that each read
    # O(batch_size): the timestamp the page ends at, from the index in its own order (the
    # `edge` subquery), then the lines from there on (at most the page and the ties at its
    # end), sorted.
    in_order = lines.timestamp.desc() if navigate_earlier else lines.timestamp
    edge = select(lines.timestamp).where(*wanted).order_by(in_order).limit(size).subquery()
    if navigate_earlier:
        wanted.append(lines.timestamp >= select(func.min(edge.c.timestamp)).scalar_subquery())
    else:
        wanted.append(lines.timestamp <= select(func.max(edge.c.timestamp)).scalar_subquery())
    page = (
        select(
            lines.timestamp, lines.level, lines.worker, lines.msg, lines.iter, lines.json_encoded
        )
        .where(*wanted)
        .order_by(in_order, lines.seq)
        .limit(size)
    )
    events = [
        LogEntry(
            task=task_id,
            timestamp=ts,
            level=_json.decode(level) if encoded else level,
            worker=_json.decode(worker) if encoded and worker is not None else worker,
            msg=_json.decode(msg) if encoded else msg,
            iter=it,
        )
        for ts, level, worker, msg, it, encoded in conn.execute(page)
    ]
    return TaskLog(events=events, returned=len(events), total=total)
