"""Transaction control sent as plain statements (the service runs in autocommit + pipeline).

psycopg would wait for the server on each of its own BEGIN and COMMIT; as statements they go
out with the rest of the pipeline. Savepoints let one part of a command fail alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


def begin(conn: psycopg.Connection[Any]) -> None:
    conn.execute("BEGIN")


# The channel catch-up runners LISTEN on (projections/runner.py): a notification only wakes
# them early, they poll anyway.
CHANNEL = "tasktrack_events"


def commit(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    """Send the COMMIT; its cursor's status, once read, says whether it committed."""
    return conn.execute("COMMIT")


def committed(cursor: psycopg.Cursor[Any]) -> bool:
    """Did this COMMIT's answer arrive and say COMMIT (not ROLLBACK, not nothing)?"""
    return cursor.pgresult is not None and cursor.statusmessage == "COMMIT"


def send_wake_up(conn: psycopg.Connection[Any]) -> None:
    """Send the runners' NOTIFY as a transaction of its own, after a command's COMMIT.

    Not inside the command's transaction (the job of a trigger on `events` until migration
    0026): a transaction that notifies takes one lock for the whole database at its commit
    and holds it through the commit's WAL flush, so every writing command committed one after
    the other, each waiting for its own fsync, instead of sharing flushes (W8: 8 agents).
    Alone, it writes no WAL before its commit record, so PostgreSQL commits it without waiting
    for a flush and the lock is held for a moment. Sent in autocommit mode, pipelined behind
    the COMMIT: no round trip more.
    """
    conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


def rollback(conn: psycopg.Connection[Any]) -> None:
    conn.execute("ROLLBACK")


@contextmanager
def savepoint(conn: psycopg.Connection[Any], name: str) -> Iterator[None]:
    """Roll back to the savepoint if the block raises (and re-raise), else release it."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {name}")
