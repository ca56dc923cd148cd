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

On a log sharded by tenant (Citus) the log has no commit-safe order of its own, only one per
tenant, on the worker holding it (docs/architecture.md, "Citus"). There the runner fans out:
each pass lists the tenants afresh (a new one is found by the next pass) and applies each
tenant's events from its own checkpoint with `eventlog.read_all(company=...)`; a batch, its
rows and its checkpoint are then one tenant's, on one worker. A single PostgreSQL keeps the
one order of the whole log and one checkpoint per projector (checkpoints.ALL_TENANTS).
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
    ALL_TENANTS,
    ProjectorBusy,
    exclusive,
    lock_name,
    read_checkpoint,
    write_checkpoint,
)
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import distribute, eventlog, transactions
from tasktrack.store.engine import raw

log = logging.getLogger(__name__)

CHANNEL = transactions.CHANNEL  # the service notifies after each commit that wrote events
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
    # On a sharded log: how many tenants have a checkpoint; tx, position and updated_at are
    # then those of the tenant updated longest ago. 0 on a single node (one checkpoint).
    tenants: int = 0


def sharded(engine: Engine) -> bool:
    """Is the log sharded by tenant (Citus)? Then it is read tenant by tenant."""
    with engine.connect() as conn:
        found = distribute.log_is_distributed(conn)
        conn.rollback()
    return found


def run_batch(
    engine: Engine, spec: ProjectorSpec, batch_size: int = 1000, *, company: str | None = None
) -> int:
    """Apply the next batch after the checkpoint; return how many events it held.
    `company`: that tenant's next batch, after its own checkpoint (a sharded log)."""
    key = ALL_TENANTS if company is None else company
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        with conn.transaction():
            # FOR UPDATE: a second runner that slipped past the session lock (none should)
            # waits here and then reads the checkpoint this batch wrote.
            after = read_checkpoint(conn, spec.name, for_update=True, company=key)
            batch = eventlog.read_all(conn, after, limit=batch_size, company=company)
            if not batch:
                return 0
            spec.projector().apply(conn, batch, {})
            # The checkpoint is written in the same transaction as the rows: exactly once.
            write_checkpoint(conn, spec.name, batch[-1].checkpoint, company=key)
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
    or nothing else runs it), as for every batch. On a sharded log, tenant by tenant, batches
    only: the replay's fast path reads the whole log below one horizon, which a sharded log
    does not have (docs/architecture.md, "Citus").
    """
    if sharded(engine):
        return _catch_up_tenants(engine, spec, batch_size, on_batch)
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


def _catch_up_tenants(
    engine: Engine,
    spec: ProjectorSpec,
    batch_size: int,
    on_batch: Callable[[int], None] | None,
) -> int:
    """Every tenant's committed events beyond its own checkpoint, tenant after tenant."""
    with engine.connect() as sa_conn:
        found = eventlog.tenants(raw(sa_conn))
        sa_conn.rollback()
    total = 0
    for company in found:
        while applied := run_batch(engine, spec, batch_size, company=company):
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
            # Looked up each pass: a log distributed while a follower runs is then read by
            # tenant from its next pass on (woken the same way: the service notifies).
            by_tenant = sharded(engine)
            for spec in specs:
                applied = catch_up(engine, spec, batch_size, fast_start=fast_start)
                if applied:
                    log.info("%s: applied %d events", spec.name, applied)
                held_back = held_back or _unread(engine, spec, by_tenant=by_tenant)
            # Events beyond the checkpoint that catch_up could not read wait for an older
            # transaction to end, which notifies nobody: look again soon (backing off), else
            # wait for the next notification (drain any that queued up) or poll on timeout.
            wait = min(retry, poll_seconds) if held_back else poll_seconds
            retry = min(retry * 2, RETRY_MAX_S, poll_seconds) if held_back else RETRY_FIRST_S
            for _ in listener.notifies(timeout=wait, stop_after=1):
                pass
            time.sleep(0.01)


# Events beyond a checkpoint, readable or not; on a sharded log, each tenant's beyond its own
# (a join on company of two co-located tables: each worker answers for its own shards).
_UNREAD = "SELECT EXISTS (SELECT 1 FROM events WHERE (tx, position) > (%s::text::xid8, %s))"
_UNREAD_TENANTS = (
    "SELECT EXISTS (SELECT 1 FROM events e LEFT JOIN projector_checkpoints c "
    "ON c.company = e.company AND c.name = %s "
    "WHERE (e.tx, e.position) > (coalesce(c.tx, '0'::xid8), coalesce(c.position, 0)))"
)


def _unread(engine: Engine, spec: ProjectorSpec, *, by_tenant: bool = False) -> bool:
    """Whether the log holds events beyond the projector's checkpoint, readable or not."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        if by_tenant:
            row = conn.execute(_UNREAD_TENANTS, (spec.name,)).fetchone()
        else:
            cp = read_checkpoint(conn, spec.name)
            row = conn.execute(_UNREAD, (str(cp.tx), cp.position)).fetchone()
        sa_conn.rollback()
    return bool(row and row[0])


# Committed events beyond each tenant's checkpoint: on Citus the horizon in the predicate is
# taken on each worker, against the `tx` stamped there (store/distribute.py).
_PENDING_TENANTS = (
    "SELECT count(*), min(e.recorded_at) FROM events e LEFT JOIN projector_checkpoints c "
    "ON c.company = e.company AND c.name = %s "
    "WHERE (e.tx, e.position) > (coalesce(c.tx, '0'::xid8), coalesce(c.position, 0)) "
    "AND e.tx < pg_snapshot_xmin(pg_current_snapshot())"
)


def status(engine: Engine, specs: list[ProjectorSpec]) -> list[ProjectorStatus]:
    by_tenant = sharded(engine)
    out = []
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        for spec in specs:
            # One row on a single node; one per tenant on a sharded log, the oldest shown.
            rows = conn.execute(
                "SELECT tx::text, position, updated_at FROM projector_checkpoints "
                "WHERE name = %s AND (company = %s) <> %s ORDER BY updated_at",
                (spec.name, ALL_TENANTS, by_tenant),
            ).fetchall()
            row = rows[0] if rows else None
            cp = LOG_START if row is None else Checkpoint(int(row[0]), int(row[1]))
            if by_tenant:
                pending = conn.execute(_PENDING_TENANTS, (spec.name,)).fetchone()
            else:
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
                    tenants=len(rows) if by_tenant else 0,
                )
            )
        sa_conn.rollback()
    return out
