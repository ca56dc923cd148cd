"""`projections verify` on a sharded log: tenant by tenant, writers going on, nothing locked.

A single PostgreSQL verifies the inline projections by replaying the log into twins and
comparing them with the live tables under `LOCK TABLE events IN SHARE MODE`
(projections/rebuild.py). On Citus that statement is sent to every worker too: a write stop of
the whole cluster. So on a sharded log each tenant is verified on its own against ONE snapshot
of its worker, with no lock: a transaction in REPEATABLE READ (Citus opens its worker
transaction in the same mode, and a tenant's statements go over that one connection) first
copies the tenant's live rows to the coordinator, then replays the tenant's events on the
fast path (stream order, COPY into twins), both as of that snapshot. A command writes its
events and its inline rows in one transaction, so the rows a snapshot shows are exactly those
of the events it shows, whatever the tenant's writers do meanwhile; the copy and the twins are
then compared. Catch-up projections are verified as of each tenant's checkpoint
(projections/rebuild.py). Every difference's key leads with its tenant.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Engine

from tasktrack.domain.records import Checkpoint
from tasktrack.projections import rebuild, replay
from tasktrack.projections.rebuild import Difference, Progress
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import replacement

EVERYTHING = Checkpoint(rebuild.LAST_POSITION, rebuild.LAST_POSITION)


def verify(
    engine: Engine,
    specs: list[ProjectorSpec],
    tenants: list[str],
    progress: Progress | None = None,
) -> list[Difference]:
    """Replay each tenant's events and compare with its live rows; [] when equal."""
    caught_up = [s for s in specs if s.mode == "catch_up"]
    inline = [s for s in specs if s.mode == "inline"]
    differences: list[Difference] = []
    if caught_up:
        differences += rebuild.verify(engine, caught_up, progress, companies=tenants)
    if not inline:
        return differences
    tables = [t for s in inline for t in s.tables]
    names = replacement.twins(tables, "verify")
    copies = replacement.twins(tables, "verify_live")
    with rebuild.connections(engine, "verify") as conns:
        conn, reader, _ = conns
        try:
            for company in tenants:
                differences += _one(conns, inline, names, copies, company, progress=progress)
        finally:
            conn.rollback()
            reader.rollback()
            replacement.drop(conn, names)
            replacement.drop(conn, copies)
            conn.commit()
    return differences


def _one(
    conns: tuple[psycopg.Connection[Any], psycopg.Connection[Any], psycopg.Connection[Any]],
    specs: list[ProjectorSpec],
    names: dict[str, str],
    copies: dict[str, str],
    company: str,
    *,
    progress: Progress | None,
) -> list[Difference]:
    conn, reader, writer = conns
    replacement.create(conn, names)
    replacement.create(conn, copies)
    conn.commit()
    # One snapshot for the copy of the live rows and the replay's scan (the module docstring):
    # the reader's transaction stays open from the first copy to the end of the scan, which
    # replay.replay ends.
    reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        for live, copy in copies.items():
            _copy_rows(reader, writer, live, copy, company)
        writer.commit()
        projectors = rebuild.projectors(specs, names)
        replay.replay(
            reader,
            writer,
            projectors,
            rebuild.LAST_POSITION,
            until={company: EVERYTHING},
            progress=progress,
        )
    finally:
        reader.rollback()
        reader.isolation_level = None
    found = [d for t in names for d in rebuild.compare(conn, t, names[t], live=copies[t])]
    replacement.drop(conn, names)
    replacement.drop(conn, copies)
    conn.commit()
    return found


def _copy_rows(
    reader: psycopg.Connection[Any],
    writer: psycopg.Connection[Any],
    live: str,
    copy: str,
    company: str,
) -> None:
    """The tenant's live rows of `live` into `copy`, read in the reader's transaction."""
    query = f"COPY (SELECT * FROM {live} WHERE company = %s) TO STDOUT"
    with (
        reader.cursor() as source,
        writer.cursor() as target,
        source.copy(query, (company,)) as out,
        target.copy(f"COPY {copy} FROM STDIN") as into,
    ):
        for block in out:
            into.write(block)
