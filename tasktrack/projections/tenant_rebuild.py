"""`projections rebuild --company`: one tenant's catch-up projections rebuilt on a sharded log.

On a log sharded by tenant (Citus) a tenant's events, rows and checkpoint all live on one
worker, and its commit-safe order is read there (docs/architecture.md, "Citus"). So one
tenant's catch-up projection is rebuilt in ONE transaction, with no write stop anywhere: its
rows are deleted, its events applied again from the first with the projector's `apply` (the
live path's code) in its commit-safe order, and its checkpoint written where that read
stopped. Readers see the old rows until the commit, then the new ones; a crash leaves the old
ones. Writers go on: an event committed after the read's horizon is beyond the new checkpoint,
and the runner applies it next. The projector's runner lock is held throughout, so no batch of
the runner interleaves. Inline projections (written by commands, so a rebuild would have to
hold the tenant's writers off) are not rebuilt per tenant yet.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START
from tasktrack.projections import checkpoints
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import distribute, eventlog
from tasktrack.store.engine import raw

# A batch of the tenant's events: bounded in count and in payload, as the runner's.
BATCH = 1000
BATCH_BYTES = 4 * 1024 * 1024


class NotPerTenant(ValueError):
    """What was asked cannot be rebuilt for one tenant (yet)."""


def rebuild_tenant(
    engine: Engine,
    specs: list[ProjectorSpec],
    company: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild `company`'s rows of these catch-up projections; return the events applied."""
    inline = [s.name for s in specs if s.mode != "catch_up"]
    if inline:
        raise NotPerTenant(
            f"only catch-up projections are rebuilt per tenant, not {', '.join(inline)} "
            "(inline: rebuild them without --company)"
        )
    with engine.connect() as sa_conn:
        if not distribute.log_is_distributed(sa_conn):
            raise NotPerTenant(
                "--company rebuilds one tenant of a log sharded by tenant (Citus); a single "
                "PostgreSQL keeps one checkpoint for the whole log: rebuild without --company"
            )
        sa_conn.rollback()
    total = 0
    with ExitStack() as locks:
        for spec in specs:  # the runner's own locks: no batch of it interleaves
            locks.enter_context(checkpoints.exclusive(engine, spec.name, wait=True))
        for spec in specs:
            total += _one(engine, spec, company, progress)
    return total


def _one(
    engine: Engine, spec: ProjectorSpec, company: str, progress: Callable[[int], None] | None
) -> int:
    applied = 0
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        # One transaction, on the tenant's worker: every statement is held to its company.
        with conn.transaction():
            for table in spec.tables:
                conn.execute(f"DELETE FROM {table} WHERE company = %s", (company,))
            projector = spec.projector()
            after = LOG_START
            while batch := eventlog.read_all(
                conn, after, limit=BATCH, max_bytes=BATCH_BYTES, company=company
            ):
                projector.apply(conn, batch, {})
                after = batch[-1].checkpoint
                applied += len(batch)
                if progress is not None:
                    progress(len(batch))
            conn.execute(
                "DELETE FROM projector_checkpoints WHERE company = %s AND name = %s",
                (company, spec.name),
            )
            if after != LOG_START:
                checkpoints.write_checkpoint(conn, spec.name, after, company=company)
    return applied
