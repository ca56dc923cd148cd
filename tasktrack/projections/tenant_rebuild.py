"""`projections rebuild` on a sharded log: tenant by tenant, only that tenant's writers held off.

On a log sharded by tenant (Citus) a tenant's events, rows and checkpoints all live on one
worker, and its commit-safe order is read there (docs/architecture.md, "Citus"). A whole-log
rebuild there is every tenant's rebuild in turn; one tenant's is:

- **Inline projections** (written by the tenant's commands): the rebuild's own steps
  (projections/rebuild.py) held to the tenant. Its events up to the last one below its worker's
  horizon are replayed into twins on the fast path (stream order, COPY), the twins get their
  keys, and the events written since are applied batch by batch with the projectors' `apply`,
  all while its writers go on. Then, in one transaction, the tenant's writers are held off (its
  lock, store/tenant_lock.py, taken exclusive: other tenants take other locks and never wait),
  the last few events are drained into the twins, and the tenant's live rows are made the
  twins' (compared on the coordinator, only the differing rows deleted and inserted). Writers
  of the tenant wait for the drain and the comparison of its rows: a time that grows with the
  tenant's rows, not the log's.
- **Catch-up projections**: under the runner's lock, in ONE transaction on the tenant's worker,
  with no write stop: its rows deleted, its events applied again from the first with the
  projector's `apply` in its commit-safe order, its checkpoint written where that read stopped.
  Writers go on: what they commit later is beyond the checkpoint, for the runner.

A crash leaves the tenant's old rows (each replacement is one transaction); the next replay
drops the twins. A single PostgreSQL keeps one checkpoint and one order for the whole log:
there `--company` is refused and the whole rebuild swaps tables (projections/rebuild.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START
from tasktrack.projections import checkpoints, rebuild
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import distribute, eventlog, replacement, tables, tenant_lock
from tasktrack.store.engine import raw

# A batch of the tenant's events: bounded in count and in payload, as the runner's.
BATCH = 1000
BATCH_BYTES = 4 * 1024 * 1024
Progress = Callable[[int], None]


class NotPerTenant(ValueError):
    """What was asked cannot be rebuilt for one tenant."""


class Rebuilt(msgspec.Struct, frozen=True, kw_only=True):
    """What a per-tenant rebuild did: the events it replayed (once per pass: inline, then
    each catch-up projection), and the longest time one tenant's writers were held off."""

    tenants: int
    events: int
    longest_hold_s: float


def require_sharded(engine: Engine) -> None:
    """Refuse a single PostgreSQL: its catch-up projections have one checkpoint for the whole
    log, and its commands take no tenant lock (store/tenant_lock.py)."""
    with engine.connect() as sa_conn:
        sharded = distribute.log_is_distributed(sa_conn)
        sa_conn.rollback()
    if not sharded:
        raise NotPerTenant(
            "--company rebuilds one tenant of a log sharded by tenant (Citus); a single "
            "PostgreSQL keeps one checkpoint for the whole log: rebuild without --company"
        )


def tenants(engine: Engine, specs: list[ProjectorSpec]) -> list[str]:
    """Every tenant with events, or with rows in these projections (rows of a tenant without
    events are wrong, and a rebuild removes them)."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        found = set(eventlog.tenants(conn))
        for table in sorted({t for s in specs for t in s.tables}):
            found |= {str(r[0]) for r in conn.execute(f"SELECT DISTINCT company FROM {table}")}
        sa_conn.rollback()
    return sorted(found)


def rebuild_all(
    engine: Engine, specs: list[ProjectorSpec], progress: Progress | None = None
) -> Rebuilt:
    """Every tenant's rows of these projections, one tenant after the other. Each tenant's
    writers are held off only for its own last events and rows."""
    require_sharded(engine)
    done = []
    with _runner_locks(engine, specs):
        for company in tenants(engine, specs):
            done.append(_rebuild(engine, specs, company, progress))
    return Rebuilt(
        tenants=len(done),
        events=sum(n for n, _ in done),
        longest_hold_s=max((held for _, held in done), default=0.0),
    )


def rebuild_tenant(
    engine: Engine, specs: list[ProjectorSpec], company: str, progress: Progress | None = None
) -> Rebuilt:
    """Rebuild `company`'s rows of these projections."""
    require_sharded(engine)
    with _runner_locks(engine, specs):
        events, held = _rebuild(engine, specs, company, progress)
    return Rebuilt(tenants=1, events=events, longest_hold_s=held)


def _runner_locks(engine: Engine, specs: list[ProjectorSpec]) -> ExitStack:
    """The catch-up runners' own locks: no batch of theirs interleaves with the rebuild."""
    locks = ExitStack()
    for spec in specs:
        if spec.mode == "catch_up":
            locks.enter_context(checkpoints.exclusive(engine, spec.name, wait=True))
    return locks


def _rebuild(
    engine: Engine, specs: list[ProjectorSpec], company: str, progress: Progress | None
) -> tuple[int, float]:
    """(events replayed, seconds the tenant's writers were held off)."""
    inline = [s for s in specs if s.mode == "inline"]
    total, held = _inline(engine, inline, company, progress) if inline else (0, 0.0)
    for spec in specs:
        if spec.mode == "catch_up":
            total += _catch_up(engine, spec, company, progress)
    return total, held


def _inline(
    engine: Engine, specs: list[ProjectorSpec], company: str, progress: Progress | None
) -> tuple[int, float]:
    """The tenant's rows of inline projections replayed into twins, then swapped for its live
    rows with its writers held off (see the module docstring); (events, seconds held)."""
    names = replacement.twins([t for s in specs for t in s.tables], "rebuild")
    counted = _Counter(progress)
    with rebuild.connections(engine, "rebuild") as conns:
        conn = conns[0]
        try:
            # Writers go on through the fast path, the keys and the tail.
            start = tenant_lock.committed_end(conn, company)
            conn.commit()
            # The fast path reads the tenant's log up to `start`; the tail goes on from there.
            rebuild.fill(conns, specs, names, until={company: start}, progress=counted)
            replacement.build(conns, names, indexes=False)  # the tail upserts by key
            states = rebuild.BoundedStates()
            after = rebuild.tail(
                conn, specs, names, start, states, progress=counted, company=company
            )
            # Now the tenant's writers are held off: its lock first, before any row is
            # touched (the order store/tenant_lock.py relies on), then every transaction of
            # the tenant ended on its worker, then the last events, then its rows replaced.
            asked = time.monotonic()  # held from the request: new commands queue behind it
            tenant_lock.hold_off_writers(conn, company)
            tenant_lock.wait_until_settled(conn, company)
            rebuild.tail(
                conn,
                specs,
                names,
                after,
                states,
                writers_locked_out=True,
                progress=counted,
                company=company,
            )
            for live, twin in names.items():
                _replace_rows(conn, live, twin, company)
            conn.commit()  # ends the hold
            held = time.monotonic() - asked
        finally:
            conn.rollback()
            replacement.drop(conn, names)
            conn.commit()
    return counted.n, held


def _replace_rows(conn: psycopg.Connection[Any], live: str, twin: str, company: str) -> int:
    """Make the tenant's rows of `live` those of `twin`, in the caller's transaction, writing
    only the rows that differ; return how many were deleted and inserted.

    Why not DELETE and INSERT them all: that rewrote every row of the tenant under the hold
    (its points were most of a 0.7-1.5 s hold for 65,000 rows, and left as many dead rows
    behind). Reading them is cheaper: the tenant's live rows are copied to the coordinator
    (one statement routed to its shard), compared there with the twin, and only the rows of
    live that the twin lacks are deleted (by key, a statement held to the tenant) and only
    the twin's rows live lacks are inserted (sent from the coordinator)."""
    columns = ", ".join(_stored_columns(conn, live))
    # The key's columns after `company` (every key leads with it), and their SQL types.
    keys = [c for c in tables.metadata.tables[live].primary_key.columns if c.name != "company"]
    key_list = ", ".join(c.name for c in keys)
    now = f"{live}__now"
    conn.execute(f"DROP TABLE IF EXISTS pg_temp.{now}")
    copy = f"CREATE TEMP TABLE {now} ON COMMIT DROP AS SELECT {columns} FROM {live} WHERE "
    copied = conn.execute(sql.SQL(copy + "company = {}").format(sql.Literal(company))).rowcount
    gone = conn.execute(
        f"SELECT {key_list} FROM (SELECT {columns} FROM {now} "
        f"EXCEPT ALL SELECT {columns} FROM {twin} WHERE company = %s) AS gone",
        (company,),
    ).fetchall()
    if gone:
        arrays = ", ".join(f"%s::{c.type.compile()}[]" for c in keys)
        conn.execute(
            f"DELETE FROM {live} WHERE company = %s "
            f"AND ({key_list}) IN (SELECT * FROM unnest({arrays}))",
            (company, *([row[i] for row in gone] for i in range(len(keys)))),
        )
    kept = copied - len(gone)  # the rows of live that are the twin's too
    row = conn.execute(f"SELECT count(*) FROM {twin} WHERE company = %s", (company,)).fetchone()
    if row is None or int(row[0]) == kept:
        return len(gone)  # the twin holds nothing more: nothing to insert
    added = conn.execute(
        f"INSERT INTO {live} ({columns}) SELECT {columns} FROM {twin} WHERE company = %s "
        f"EXCEPT ALL SELECT {columns} FROM {now}",
        (company,),
    )
    return len(gone) + max(added.rowcount, 0)


def _stored_columns(conn: psycopg.Connection[Any], table: str) -> list[str]:
    """The columns an INSERT may set (not dropped, not generated), in the table's order."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        (table,),
    ).fetchall()
    return [f'"{r[0]}"' for r in rows]


def _catch_up(engine: Engine, spec: ProjectorSpec, company: str, progress: Progress | None) -> int:
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


class _Counter:
    """Counts the events replayed while passing them on to the progress bar."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.n = 0

    def __call__(self, n: int) -> None:
        self.n += n
        if self.progress is not None:
            self.progress(n)
