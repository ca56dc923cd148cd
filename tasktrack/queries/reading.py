"""A read's connection: under the caller's statement timeout, a cancelled read is QueryTooSlow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from tasktrack.domain.errors import QueryTooSlow


@contextmanager
def reading(engine: Engine, timeout_ms: int | None) -> Iterator[Connection]:
    """A pooled connection for one read; with `timeout_ms`, a statement that runs past it is
    refused with 400/16 (QueryTooSlow) instead of holding the connection.

    A read that ends well ends its transaction with COMMIT, not the pool's ROLLBACK: it wrote
    nothing, so the two are the same to PostgreSQL, but psycopg forgets every statement it
    prepared on a connection when it sees a ROLLBACK. The commands sharing the pool (an
    agent's get_next_task after a read of its task) were then parsed and planned again, five
    times each, and every read's own statement was never prepared at all.
    """
    with engine.connect() as conn:
        if timeout_ms is None:
            yield conn
            conn.commit()
            return
        # SET LOCAL: the timeout ends with this read's transaction.
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        try:
            yield conn
            conn.commit()
        except OperationalError as exc:
            if isinstance(exc.orig, psycopg.errors.QueryCanceled):
                raise QueryTooSlow(timeout_ms) from exc
            raise
        except psycopg.errors.QueryCanceled as exc:  # reads through the raw connection
            raise QueryTooSlow(timeout_ms) from exc
