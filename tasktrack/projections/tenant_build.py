"""Every projection of an imported log built tenant by tenant, on a log sharded by tenant.

`tasktrack import` fills an empty `events`; on a single node a whole replay then builds the
projections (projections/rebuild.py), which a sharded log refuses: its fast path reads below
one horizon and its swap would replace distributed tables with the coordinator's twins. Here
each tenant's events are read in its own commit-safe order (on its worker, where the import
stamped them: store/distribute.py's trigger) and applied with every projector's `apply`, the
live path's code, in ONE transaction on that worker, catch-up checkpoints written where the
read stopped. The live tables are empty (import takes an empty database only, with writers
stopped), so nothing is deleted first. A crash leaves the tenants built so far and the rest
empty: drop the database and import again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START
from tasktrack.projections import checkpoints
from tasktrack.projections.rebuild import BoundedStates
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import eventlog
from tasktrack.store.engine import raw

# A batch of a tenant's events: bounded in count and payload, as the runner's.
BATCH = 1000
BATCH_BYTES = 4 * 1024 * 1024


def build_tenants(
    engine: Engine, specs: list[ProjectorSpec], progress: Callable[[int], None] | None = None
) -> int:
    """Apply every tenant's events to these projections (in the registry's order: the tasks
    projector first, the others read the task states it folds); return the events applied."""
    with engine.connect() as sa_conn:
        found = eventlog.tenants(raw(sa_conn))
        sa_conn.rollback()
    caught_up = [s for s in specs if s.mode == "catch_up"]
    total = 0
    for company in found:
        with engine.connect() as sa_conn:
            conn = raw(sa_conn)
            # One transaction, every statement held to the tenant: one worker, one phase.
            with conn.transaction():
                projectors = [s.projector() for s in specs]
                states = BoundedStates()
                after = LOG_START
                while batch := eventlog.read_all(
                    conn, after, limit=BATCH, max_bytes=BATCH_BYTES, company=company
                ):
                    for projector in projectors:
                        projector.apply(conn, batch, states)
                    after = batch[-1].checkpoint
                    total += len(batch)
                    if progress is not None:
                        progress(len(batch))
                if after != LOG_START:
                    for spec in caught_up:
                        checkpoints.write_checkpoint(conn, spec.name, after, company=company)
    return total
