"""Running a listing's statement: one COUNT over it, and a name pattern refused as a 400."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.exc import DataError

from tasktrack.domain.errors import BadFilter


def count_matching(conn: Connection, listing: Select[Any], limit: int | None = None) -> int:
    """How many rows the listing statement matches, at most `limit`: its order and paging are
    dropped, so the count is the same whatever page the listing was built for. The limit is
    applied inside the count so that PostgreSQL stops reading at it."""
    inner = listing.order_by(None).offset(None).limit(limit)
    return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())


@contextmanager
def bad_name_pattern(conn: Connection, name: str | None) -> Iterator[None]:
    """A name pattern PostgreSQL cannot compile is the caller's 400/16, not a 500. The failed
    statement aborted the transaction: it is rolled back, unless a savepoint's owner (which
    rolls back to its savepoint) is running this listing inside a larger read."""
    try:
        yield
    except DataError as exc:
        if isinstance(exc.orig, psycopg.errors.InvalidRegularExpression):
            if not conn.in_nested_transaction():
                conn.rollback()
            raise BadFilter(f"invalid regular expression for name: {name!r}") from exc
        raise
