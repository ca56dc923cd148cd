"""The `workers` and `worker_reports` rows: a worker's latest state and its machine-stats series.

Not read models of the log (heartbeats are not events): the service writes them beside the
facts it appends, under the worker's stream lock, so two writers of one worker never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tasktrack.domain.workers import LIVE_TASK_SECONDS, MAX_REPORTS, WorkerRow

COLUMNS = tuple(f for f in WorkerRow.__struct_fields__)
_SQL_COLUMNS = ", ".join("user_id" if c == "user" else c for c in COLUMNS)
_PLACEHOLDERS = ", ".join(["%s"] * len(COLUMNS))
_UPDATES = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in ("user_id" if c == "user" else c for c in COLUMNS[2:])
)


def _row(r: tuple[Any, ...]) -> WorkerRow:
    fields = dict(zip(COLUMNS, r, strict=True))
    for key in ("queues", "tags", "system_tags"):
        fields[key] = list(fields[key] or [])
    return WorkerRow(**fields)


def load(conn: psycopg.Connection[Any], company: str, ids: Iterable[str]) -> dict[str, WorkerRow]:
    rows = conn.execute(
        f"SELECT {_SQL_COLUMNS} FROM workers WHERE company = %s AND id = ANY(%s)",
        (company, list(ids)),
    )
    return {row.id: row for row in map(_row, rows.fetchall())}


def save(conn: psycopg.Connection[Any], row: WorkerRow) -> None:
    values = tuple(getattr(row, c) for c in COLUMNS)
    conn.execute(
        f"INSERT INTO workers ({_SQL_COLUMNS}) VALUES ({_PLACEHOLDERS})"
        f" ON CONFLICT (company, id) DO UPDATE SET {_UPDATES}",
        values,
    )


def overdue(conn: psycopg.Connection[Any], company: str, now: datetime) -> list[str]:
    """Registered workers of the company whose timeout passed (read without locks)."""
    rows = conn.execute(
        "SELECT id FROM workers WHERE company = %s AND NOT gone"
        " AND last_activity + timeout * interval '1 second' <= %s",
        (company, now),
    )
    return [r[0] for r in rows.fetchall()]


def add_report(
    conn: psycopg.Connection[Any],
    row: WorkerRow,
    ts: int,
    task: str | None,
    stats: dict[str, list[float]],
) -> None:
    """Store report number `row.reports` and drop the worker's reports older than the last
    MAX_REPORTS (a range of its primary key: the series stays bounded whatever the rate)."""
    conn.execute(
        "INSERT INTO worker_reports (company, worker, seq, ts, task, stats)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (row.company, row.id, row.reports, ts, task, Jsonb(stats)),
    )
    if row.reports > MAX_REPORTS:
        conn.execute(
            "DELETE FROM worker_reports WHERE company = %s AND worker = %s AND seq <= %s",
            (row.company, row.id, row.reports - MAX_REPORTS),
        )


def purge(conn: psycopg.Connection[Any], company: str, before: datetime) -> None:
    """Forget workers gone and unseen since `before`, with their reports."""
    conn.execute(
        "WITH old AS (DELETE FROM workers WHERE company = %s AND gone AND last_activity < %s"
        " RETURNING id)"
        " DELETE FROM worker_reports r USING old WHERE r.company = %s AND r.worker = old.id",
        (company, before, company),
    )


def reports_task(
    conn: psycopg.Connection[Any], company: str, worker: str, task: str, now: datetime
) -> bool:
    """Is this worker registered, and did it report running this task lately (what makes the
    task live for `tasks.stop`, heartbeats being rows rather than events)?"""
    row = conn.execute(
        "SELECT 1 FROM workers WHERE company = %s AND id = %s AND task = %s AND NOT gone"
        " AND last_activity + timeout * interval '1 second' > %s"
        " AND last_report > %s - %s * interval '1 second'",
        (company, worker, task, now, now, LIVE_TASK_SECONDS),
    ).fetchone()
    return row is not None


def known_queues(conn: psycopg.Connection[Any], company: str, ids: list[str]) -> set[str]:
    """Which of these queue ids the company has (a worker may listen only to those)."""
    rows = conn.execute("SELECT id FROM queues WHERE company = %s AND id = ANY(%s)", (company, ids))
    return {r[0] for r in rows.fetchall()}
