"""Writing many rows at once: COPY, and upserts through a COPY-filled staging table.

A command writes a row or two, pipelined with its other statements (the service's path). A
rebuild or a catch-up batch writes thousands, and there a statement per row costs far more on
the client than on the server; COPY sends them as one stream. COPY cannot run in pipeline mode,
so these are used only outside it, and only for batches big enough to be worth it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq

# Below this many rows the per-row statements (pipelined by executemany) are as cheap.
BULK_MIN_ROWS = 16


def worth_copying(conn: psycopg.Connection[Any], rows: int) -> bool:
    """True when `rows` rows should go by COPY on this connection (not in pipeline mode)."""
    return rows >= BULK_MIN_ROWS and conn.pgconn.pipeline_status == pq.PipelineStatus.OFF


def copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Sequence[Any]
) -> None:
    """COPY `rows` (tuples in the order of `columns`) into `table`."""
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def upsert_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Any],
) -> None:
    """Insert or replace `rows` by `key`: COPY into a staging table, then one INSERT … SELECT.

    The staging table is a TEMP table of `table`'s shape, private to the session, emptied at
    every commit (ON COMMIT DELETE ROWS) and here after use, so it never holds stale rows.
    """
    staging = f"{table.replace('.', '_')}__staging"
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {table}) ON COMMIT DELETE ROWS")
    copy_rows(conn, staging, columns, rows)
    listed = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
    conn.execute(
        f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )
    conn.execute(f"DELETE FROM {staging}")
