"""The `serving_containers` and `serving_reports` rows: a serving container's latest state and
its chart values.

Not read models of the log (status reports are heartbeats, not events): the service writes
them beside the facts it appends, under the container's stream lock, so two writers of one
container never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tasktrack.domain.serving import REPORTS_KEPT, ContainerRow

COLUMNS = tuple(ContainerRow.__struct_fields__)
_SQL_COLUMNS = ", ".join(COLUMNS)
_PLACEHOLDERS = ", ".join(["%s"] * len(COLUMNS))
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])


def row_of(r: tuple[Any, ...]) -> ContainerRow:
    return ContainerRow(**dict(zip(COLUMNS, r, strict=True)))


def load(
    conn: psycopg.Connection[Any], company: str, ids: Iterable[str]
) -> dict[str, ContainerRow]:
    rows = conn.execute(
        f"SELECT {_SQL_COLUMNS} FROM serving_containers WHERE company = %s AND id = ANY(%s)",
        (company, list(ids)),
    )
    return {row.id: row for row in map(row_of, rows.fetchall())}


def save(conn: psycopg.Connection[Any], row: ContainerRow) -> None:
    values = [getattr(row, c) for c in COLUMNS]
    values = [Jsonb(v) if isinstance(v, dict) else v for v in values]
    conn.execute(
        f"INSERT INTO serving_containers ({_SQL_COLUMNS}) VALUES ({_PLACEHOLDERS})"
        f" ON CONFLICT (company, id) DO UPDATE SET {_UPDATES}",
        values,
    )


def delete(conn: psycopg.Connection[Any], company: str, container: str) -> None:
    conn.execute(
        "DELETE FROM serving_containers WHERE company = %s AND id = %s", (company, container)
    )


def add_report(
    conn: psycopg.Connection[Any],
    row: ContainerRow,
    url: str,
    now: datetime,
    values: dict[str, float],
) -> None:
    """One report's chart values; the container's reports older than REPORTS_KEPT go (a
    range of its primary key), so the series stays bounded whatever the rate. A second report
    in the same millisecond replaces the first."""
    ts = int(now.timestamp() * 1000)
    oldest = int((now - REPORTS_KEPT).timestamp() * 1000)
    conn.execute(
        "DELETE FROM serving_reports WHERE company = %s AND container = %s AND ts < %s",
        (row.company, row.id, oldest),
    )
    conn.execute(
        "INSERT INTO serving_reports (company, container, ts, endpoint_url, values)"
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (company, container, ts) DO UPDATE SET"
        " endpoint_url = EXCLUDED.endpoint_url, values = EXCLUDED.values",
        (row.company, row.id, ts, url, Jsonb(values)),
    )
