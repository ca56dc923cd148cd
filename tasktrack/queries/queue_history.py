"""A queue's history and the waits in its line, read from the log: the queue's own stream, the
TaskHandedOut facts of the tasks it handed out (when, to whom), and their WorkerReported facts
(which worker took each)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Connection, or_, select

from tasktrack.domain import events as ev
from tasktrack.domain import queue_history
from tasktrack.domain.errors import QueueNotFound
from tasktrack.domain.queue_history import LineWait, QueueStep, Takers
from tasktrack.queries import analytics
from tasktrack.queries.queues import QueueView, get_by_id
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tasktrack.store.tables import events, queues

DEFAULT_STEPS = 100


class QueueHistory(msgspec.Struct, frozen=True, kw_only=True):
    """A queue as it is now and the last `limit` lines of its history (oldest first)."""

    queue: QueueView
    steps: list[QueueStep]
    total_steps: int


def resolve(conn: Connection, company: str, queue: str) -> str:
    """A queue of the company by id, else by name."""
    q = queues.c
    found = conn.execute(
        select(q.id)
        .where(q.company == company, or_(q.id == queue, q.name == queue))
        .order_by((q.id == queue).desc())
        .limit(1)
    ).scalar_one_or_none()
    if found is None:
        raise QueueNotFound(f"Invalid queue id or name: {queue}", id=queue)
    return str(found)


def story(
    conn: Connection, company: str, queue_id: str, until: datetime | None = None
) -> list[ev.AnyEvent]:
    """The queue's stream with its handouts in place (domain/queue_history.py's `story`)."""
    c = raw(conn)
    own = [(r.stream_version, r.event) for r in eventlog.read_stream(c, queue_id, until=until)]
    handouts = [(r.stream_id, r.event) for r in eventlog.read_handouts(c, company, queue_id, until)]
    return queue_history.story(own, handouts)


def _takers(conn: Connection, company: str, tasks: list[str]) -> Takers:
    """Each task's WorkerReported facts (the worker's first report of running it), oldest
    first. By stream id: the log's (stream_id, stream_version) index finds them."""
    found: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    if not tasks:
        return found
    e = events.c
    rows = conn.execute(
        select(e.stream_id, e.data)
        .where(e.stream_id.in_(tasks), e.company == company, e.type == "WorkerReported")
        .order_by(e.position)
    )
    for stream_id, data in rows:
        reported = msgspec.convert(data, ev.WorkerReported, strict=False)
        found[str(stream_id)].append((reported.at, reported.worker))
    return found


def history(conn: Connection, company: str, queue: str, limit: int = DEFAULT_STEPS) -> QueueHistory:
    """QUEUE (id or name) now, and its last `limit` history lines with who did what."""
    limit = analytics.limit_of(limit)
    queue_id = resolve(conn, company, queue)
    view = get_by_id(conn, company, queue_id, None)
    stream = story(conn, company, queue_id)
    last = stream[-limit:]
    takers = _takers(conn, company, queue_history.handed_out(last))
    return QueueHistory(
        queue=view, steps=queue_history.steps(last, takers), total_steps=len(stream)
    )


def line_waits(
    conn: Connection,
    company: str,
    *,
    queue: str | None = None,
    since: analytics.Moment | None = None,
    until: analytics.Moment | None = None,
    limit: int = analytics.DEFAULT_LIMIT,
) -> list[LineWait]:
    """Each stay of a task in a queue's line (every queue of the company, or QUEUE by id or
    name), entered within the window, oldest first: how long it waited, how it left (handed
    out to which worker, removed, or the queue deleted)."""
    (start, end), limit = analytics.window(since, until), analytics.limit_of(limit)
    if queue is not None:
        ids = [resolve(conn, company, queue)]
    else:
        q = queues.c
        ids = [
            str(r[0])
            for r in conn.execute(
                select(q.id).where(q.company == company).order_by(q.created, q.id)
            )
        ]
    now = datetime.now(UTC)
    found: list[LineWait] = []
    for queue_id in ids:
        stream = story(conn, company, queue_id)
        takers = _takers(conn, company, queue_history.handed_out(stream))
        found += [
            w
            for w in queue_history.waits(queue_id, stream, takers, now)
            if (start is None or w.entered_at >= start) and (end is None or w.entered_at < end)
        ]
    return sorted(found, key=lambda w: (w.entered_at, w.queue, w.task))[:limit]
