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
    refused with 400/16 (QueryTooSlow) instead of holding the connection."""
    with engine.connect() as conn:
        if timeout_ms is None:
            yield conn
            return
        # SET LOCAL: the timeout ends with this read's transaction (the pool rolls back).
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        try:
            yield conn
        except OperationalError as exc:
            if isinstance(exc.orig, psycopg.errors.QueryCanceled):
                raise QueryTooSlow(timeout_ms) from exc
            raise
        except psycopg.errors.QueryCanceled as exc:  # reads through the raw connection
            raise QueryTooSlow(timeout_ms) from exc
