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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import eventlog
from tasktrack.store.engine import raw

log = logging.getLogger(__name__)

CHANNEL = "tasktrack_events"
# A follower that finds events it may not read yet looks again after this, then doubling.
RETRY_FIRST_S = 0.05


class ProjectorBusy(RuntimeError):
    """Another runner holds this projector."""


class ProjectorStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    tx: int
    position: int
    updated_at: datetime | None
    pending: int  # committed events beyond the checkpoint
    oldest_pending_at: datetime | None


def lock_name(name: str) -> str:
    return f"projector:{name}"


def read_checkpoint(
    conn: psycopg.Connection[Any], name: str, *, for_update: bool = False
) -> Checkpoint:
    row = conn.execute(
        "SELECT tx::text, position FROM projector_checkpoints WHERE name = %s"
        + (" FOR UPDATE" if for_update else ""),
        (name,),
    ).fetchone()
    return LOG_START if row is None else Checkpoint(int(row[0]), int(row[1]))


def write_checkpoint(conn: psycopg.Connection[Any], name: str, cp: Checkpoint) -> None:
    conn.execute(
        "INSERT INTO projector_checkpoints (name, tx, position, updated_at) "
        "VALUES (%s, %s::text::xid8, %s, now()) ON CONFLICT (name) DO UPDATE "
        "SET tx = EXCLUDED.tx, position = EXCLUDED.position, updated_at = EXCLUDED.updated_at",
        (name, str(cp.tx), cp.position),
    )


@contextmanager
def exclusive(engine: Engine, name: str, *, wait: bool) -> Iterator[None]:
    """Hold the projector's session lock (on a connection of its own) while the block runs."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        key = eventlog.lock_key(lock_name(name))
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        else:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not got or not got[0]:
                conn.rollback()
                raise ProjectorBusy(f"projector {name!r} is already being run by another runner")
        # The lock is session-level: it outlives this transaction, which must not stay open
        # (an open transaction would hold back every commit-safe reader's horizon).
        conn.commit()
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            conn.commit()


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
) -> int:
    """Apply every committed event beyond the checkpoint; return how many."""
    total = 0
    while applied := run_batch(engine, spec, batch_size):
        total += applied
        if on_batch is not None:
            on_batch(applied)
    return total


def follow(
    engine: Engine,
    specs: list[ProjectorSpec],
    *,
    batch_size: int = 1000,
    poll_seconds: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Keep the projectors caught up: wake on NOTIFY, poll as a fallback."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    retry = RETRY_FIRST_S
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        while not should_stop():
            held_back = False
            for spec in specs:
                applied = catch_up(engine, spec, batch_size)
                if applied:
                    log.info("%s: applied %d events", spec.name, applied)
                held_back = held_back or _unread(engine, spec)
            # Events beyond the checkpoint that catch_up could not read wait for an older
            # transaction to end, which notifies nobody: look again soon (backing off), else
            # wait for the next notification (drain any that queued up) or poll on timeout.
            wait = min(retry, poll_seconds) if held_back else poll_seconds
            retry = min(retry * 2, poll_seconds) if held_back else RETRY_FIRST_S
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
