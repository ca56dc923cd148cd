"""The catch-up runner: feeds catch-up projectors the log in commit-safe order, exactly once.

Each batch is read, applied and checkpointed in ONE transaction: the projector's rows and its
`(tx, position)` checkpoint commit together or not at all, so a crash (even SIGKILL mid-batch)
loses nothing and applies nothing twice; the next run resumes at the checkpoint. One runner per
projector at a time: it holds a session-level advisory lock for as long as it runs. Followers
wake up on NOTIFY (a trigger on `events` notifies once per inserting statement) and also poll,
so a lost notification only delays them. A wake-up can find events it may not read yet (an
older transaction, anywhere on the server, is still open: see store/eventlog.py); that
transaction's end sends no NOTIFY, so the follower then looks again soon, backing off, instead
of waiting a whole poll interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import msgspec
import psycopg
from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.projections import rebuild
from tasktrack.projections.checkpoints import (
    ProjectorBusy,
    exclusive,
    lock_name,
    read_checkpoint,
    write_checkpoint,
)
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import eventlog
from tasktrack.store.engine import raw

log = logging.getLogger(__name__)

CHANNEL = "tasktrack_events"
# A follower that finds events it may not read yet looks again after this, then doubling up to
# the cap: a long write transaction anywhere on the server holds the horizon, and one cheap look a
# second while it does keeps the lag after it ends under a second (not the poll's minute).
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 1.0
# A projector starting from the first event replays in stream order when the log holds this many.
FAST_START_EVENTS = 1000

__all__ = [
    "ProjectorBusy",
    "ProjectorStatus",
    "catch_up",
    "exclusive",
    "follow",
    "lock_name",
    "read_checkpoint",
    "run_batch",
    "status",
    "write_checkpoint",
]


class ProjectorStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    tx: int
    position: int
    updated_at: datetime | None
    pending: int  # committed events beyond the checkpoint
    oldest_pending_at: datetime | None


def run_batch(engine: Engine, spec: ProjectorSpec, batch_size: int = 1000) -> int:
    """Apply the next batch after the checkpoint; return how many events it held."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        with conn.transaction():
            after = read_checkpoint(conn, spec.name, for_update=True)
            batch = eventlog.read_all(conn, after, limit=batch_size)
            if not batch:
                return 0
            spec.projector().apply(conn, batch, {})
            # The checkpoint is written in the same transaction as the rows: exactly once.
            write_checkpoint(conn, spec.name, batch[-1].checkpoint)
        return len(batch)


def catch_up(
    engine: Engine,
    spec: ProjectorSpec,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
    fast_start: int = FAST_START_EVENTS,
) -> int:
    """Apply every committed event beyond the checkpoint; return how many.

    A projector that starts from the log's first event (added by a later release, or reset)
    takes the replay's fast path for what the log holds so far (projections/rebuild.py), then
    goes on batch by batch. The caller is this projector's only runner (it holds `exclusive`,
    or nothing else runs it), as for every batch.
    """
    total = 0
    if _from_scratch(engine, spec, fast_start):

        def count(n: int) -> None:
            nonlocal total
            total += n
            if on_batch is not None:
                on_batch(n)

        rebuild.rebuild(engine, [spec], progress=count, runner_locks_held=True)
    while applied := run_batch(engine, spec, batch_size):
        total += applied
        if on_batch is not None:
            on_batch(applied)
    return total


def _from_scratch(engine: Engine, spec: ProjectorSpec, fast_start: int) -> bool:
    """Whether the projector has no checkpoint and the log holds at least `fast_start` events
    (below that, a few batches cost less than a replay's setup)."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        found = False
        if read_checkpoint(conn, spec.name) == LOG_START:
            row = conn.execute(
                "SELECT count(*) >= %s FROM (SELECT 1 FROM events LIMIT %s) AS e",
                (fast_start, fast_start),
            ).fetchone()
            found = bool(row and row[0])
        sa_conn.rollback()
    return found


def follow(
    engine: Engine,
    specs: list[ProjectorSpec],
    *,
    batch_size: int = 1000,
    poll_seconds: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
    fast_start: int = FAST_START_EVENTS,
) -> None:
    """Keep the projectors caught up: wake on NOTIFY, poll as a fallback."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    retry = RETRY_FIRST_S
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        while not should_stop():
            held_back = False
            for spec in specs:
                applied = catch_up(engine, spec, batch_size, fast_start=fast_start)
                if applied:
                    log.info("%s: applied %d events", spec.name, applied)
                held_back = held_back or _unread(engine, spec)
            # Events beyond the checkpoint that catch_up could not read wait for an older
            # transaction to end, which notifies nobody: look again soon (backing off), else
            # wait for the next notification (drain any that queued up) or poll on timeout.
            wait = min(retry, poll_seconds) if held_back else poll_seconds
            retry = min(retry * 2, RETRY_MAX_S, poll_seconds) if held_back else RETRY_FIRST_S
            for _ in listener.notifies(timeout=wait, stop_after=1):
                pass
            time.sleep(0.01)


def _unread(engine: Engine, spec: ProjectorSpec) -> bool:
    """Whether the log holds events beyond the projector's checkpoint, readable or not."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        cp = read_checkpoint(conn, spec.name)
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM events WHERE (tx, position) > (%s::text::xid8, %s))",
            (str(cp.tx), cp.position),
        ).fetchone()
        sa_conn.rollback()
    return bool(row and row[0])


def status(engine: Engine, specs: list[ProjectorSpec]) -> list[ProjectorStatus]:
    out = []
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        for spec in specs:
            row = conn.execute(
                "SELECT tx::text, position, updated_at FROM projector_checkpoints WHERE name = %s",
                (spec.name,),
            ).fetchone()
            cp = LOG_START if row is None else Checkpoint(int(row[0]), int(row[1]))
            pending = conn.execute(
                "SELECT count(*), min(recorded_at) FROM events "
                "WHERE (tx, position) > (%s::text::xid8, %s) "
                "AND tx < pg_snapshot_xmin(pg_current_snapshot())",
                (str(cp.tx), cp.position),
            ).fetchone()
            assert pending is not None
            out.append(
                ProjectorStatus(
                    name=spec.name,
                    tx=cp.tx,
                    position=cp.position,
                    updated_at=row[2] if row else None,
                    pending=int(pending[0]),
                    oldest_pending_at=pending[1],
                )
            )
        sa_conn.rollback()
    return out
