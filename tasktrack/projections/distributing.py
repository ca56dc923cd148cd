"""`tasktrack db distribute` of a database that may already hold a log, runners and all.

The steps, in this order (docs/architecture.md, "Citus: distributing a database that holds a
log"): refuse while another client is connected (writers and runners must be stopped); take
every catch-up projector's runner lock for the whole run; while the log is still one node's,
catch every catch-up projector up in the whole log's order and check its checkpoint covers
every event (else refuse, before anything moves); place the tables (store/distribute.py:
Citus copies the rows); bring every worker's transaction counter past the copied `tx`; check
each stream still reads in version order in its tenant's order; turn each whole-log
checkpoint into one per tenant at the tenant's last event. Every step is idempotent, so a run
that stopped halfway is finished by running it again (with writers still stopped).
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import msgspec
from sqlalchemy import Engine

from tasktrack.projections import checkpoints, registry, runner
from tasktrack.store import distribute, distribute_log

NotSafeToDistribute = distribute_log.NotSafeToDistribute


class Distributed(msgspec.Struct, frozen=True, kw_only=True):
    """What a `db distribute` run did."""

    placed: list[distribute.Placed]
    caught_up: int  # events the catch-up projectors applied before the copy
    top_tx: int  # the largest `tx` in the log once copied (0: empty log, or nothing to do)
    converted: list[str]  # projectors whose whole-log checkpoint became per-tenant ones
    events: int  # events in the log
    seconds: float


def distribute_database(engine: Engine) -> Distributed:
    """Distribute the database (see the module docstring). Raises distribute.NotCitus,
    distribute.Unclassified or NotSafeToDistribute before changing anything it should not."""
    started = time.monotonic()
    with engine.connect() as conn:
        distribute.check(conn)
        pending = distribute.unplaced(conn)
        sharded = distribute.log_is_distributed(conn)
        leftover = distribute_log.whole_log_checkpoints(conn) if sharded else []
        if pending or leftover:
            distribute_log.require_alone(conn)
        conn.rollback()
    caught_up = 0
    top = 0
    converted: list[str] = []
    specs = [s for s in registry.PROJECTORS if s.mode == "catch_up"]
    with ExitStack() as locks:
        if pending or leftover:
            for spec in specs:
                try:
                    locks.enter_context(checkpoints.exclusive(engine, spec.name, wait=False))
                except checkpoints.ProjectorBusy as exc:
                    raise NotSafeToDistribute(
                        f"{exc}: stop `tasktrack projections run` before distributing"
                    ) from None
        if not sharded and pending:
            # The last reads in the whole log's order: after the copy the log has none.
            caught_up = sum(runner.catch_up(engine, spec) for spec in specs)
            _require_caught_up(engine)
        placed = distribute.distribute(engine)
        if pending or leftover:
            with engine.begin() as conn:
                top = distribute_log.advance_workers(conn)
            with engine.connect() as conn:
                distribute_log.check_stream_order(conn)
                conn.rollback()
            with engine.begin() as conn:
                converted = distribute_log.per_tenant_checkpoints(conn)
    with engine.connect() as conn:
        events = int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())
        conn.rollback()
    return Distributed(
        placed=placed,
        caught_up=caught_up,
        top_tx=top,
        converted=converted,
        events=events,
        seconds=time.monotonic() - started,
    )


def _require_caught_up(engine: Engine) -> None:
    """Every whole-log checkpoint covers every event: only then does a tenant's last event
    say where its checkpoint is once the log is sharded."""
    with engine.connect() as conn:
        behind = [
            (name, n)
            for name, tx, position in distribute_log.whole_log_checkpoints(conn)
            if (n := distribute_log.unread_beyond(conn, tx, position))
        ]
        conn.rollback()
    if behind:
        said = ", ".join(f"{name} ({n} events)" for name, n in behind)
        raise NotSafeToDistribute(
            f"the catch-up projectors could not read the whole log: {said} beyond their "
            "checkpoints, held back by a transaction still open on this server (every "
            "database's count); end it and run `tasktrack db distribute` again; nothing was "
            "distributed"
        )
