"""Waiting for the commit-safe horizon: it is cluster-wide, so a write transaction still open
in any database of a shared test server holds it back for a moment."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from sqlalchemy import Engine, text


def horizon_reaches_end(engine: Engine, timeout: float = 30.0) -> int:
    """Wait until every event of the database is below the horizon; return the last position."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        end = conn.execute(text("SELECT coalesce(max(position), 0) FROM events")).scalar_one()
    while True:
        with engine.connect() as conn:
            seen = conn.execute(
                text(
                    "SELECT coalesce(max(position), 0) FROM events "
                    "WHERE tx < pg_snapshot_xmin(pg_current_snapshot())"
                )
            ).scalar_one()
        if seen >= end:
            return int(end)
        assert time.monotonic() < deadline, "the commit-safe horizon never reached the end"
        time.sleep(0.02)


def horizon_passes(conn: psycopg.Connection[Any], position: int, timeout: float = 30.0) -> None:
    """Wait (on an autocommit connection) until `position` is below the horizon."""
    deadline = time.monotonic() + timeout
    while True:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE position = %s "
            "AND tx < pg_snapshot_xmin(pg_current_snapshot())",
            (position,),
        ).fetchone()
        if row and row[0]:
            return
        assert time.monotonic() < deadline, "the commit-safe horizon never passed the event"
        time.sleep(0.02)
