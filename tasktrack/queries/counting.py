"""Counting what a listing matches: one COUNT over the listing's own statement, unpaged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select


def count_matching(conn: Connection, listing: Select[Any], limit: int | None = None) -> int:
    """How many rows the listing statement matches, at most `limit`: its order and paging are
    dropped, so the count is the same whatever page the listing was built for. The limit is
    applied inside the count so that PostgreSQL stops reading at it."""
    inner = listing.order_by(None).offset(None).limit(limit)
    return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())
