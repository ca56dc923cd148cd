"""Catch-up projectors' checkpoints, and the session lock that makes one runner per projector.

A checkpoint is a place in the log's commit-safe order, `(tx, position)`; it is written in the
same transaction as the rows the events up to it produced (projections/runner.py), or with the
rows a replay swapped in (projections/rebuild.py). A single PostgreSQL has one such order for
the whole log: one checkpoint per projector, company ALL_TENANTS. A log sharded by tenant
(Citus) has one order per tenant only, each on the worker holding it: one checkpoint per
projector and tenant, each in its tenant's order (docs/architecture.md, "Citus").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.store import eventlog
from tasktrack.store.engine import raw


class ProjectorBusy(RuntimeError):
    """Another runner holds this projector."""


def lock_name(name: str) -> str:
    return f"projector:{name}"


# The company of a checkpoint in the whole log's order (a single PostgreSQL). No tenant is
# named '' (a caller's company is never empty), so it cannot clash with a tenant's row.
ALL_TENANTS = ""


def read_checkpoint(
    conn: psycopg.Connection[Any],
    name: str,
    *,
    for_update: bool = False,
    company: str = ALL_TENANTS,
) -> Checkpoint:
    row = conn.execute(
        "SELECT tx::text, position FROM projector_checkpoints WHERE company = %s AND name = %s"
        + (" FOR UPDATE" if for_update else ""),
        (company, name),
    ).fetchone()
    return LOG_START if row is None else Checkpoint(int(row[0]), int(row[1]))


def write_checkpoint(
    conn: psycopg.Connection[Any], name: str, cp: Checkpoint, *, company: str = ALL_TENANTS
) -> None:
    # The conflict target is the key, led by company (Citus: the distribution column), and
    # the update never sets company, which Citus refuses to change in a row.
    conn.execute(
        "INSERT INTO projector_checkpoints (company, name, tx, position, updated_at) "
        "VALUES (%s, %s, %s::text::xid8, %s, now()) ON CONFLICT (company, name) DO UPDATE "
        "SET tx = EXCLUDED.tx, position = EXCLUDED.position, updated_at = EXCLUDED.updated_at",
        (company, name, str(cp.tx), cp.position),
    )


def tenant_checkpoints(conn: psycopg.Connection[Any], name: str) -> dict[str, Checkpoint]:
    """Every tenant's checkpoint of a projector on a sharded log (ALL_TENANTS left out)."""
    rows = conn.execute(
        "SELECT company, tx::text, position FROM projector_checkpoints "
        "WHERE name = %s AND company <> %s",
        (name, ALL_TENANTS),
    ).fetchall()
    return {str(r[0]): Checkpoint(int(r[1]), int(r[2])) for r in rows}


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
