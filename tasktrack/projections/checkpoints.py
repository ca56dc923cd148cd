"""Catch-up projectors' checkpoints, and the session lock that makes one runner per projector.

A checkpoint is a place in the log's commit-safe order, `(tx, position)`; it is written in the
same transaction as the rows the events up to it produced (projections/runner.py), or with the
rows a replay swapped in (projections/rebuild.py).
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
