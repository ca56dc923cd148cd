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


def commit(conn: psycopg.Connection[Any]) -> None:
    conn.execute("COMMIT")


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
