"""What a command's unit of work reads besides task rows: statuses, children, queues, projects.

Each is one statement on the command's raw psycopg connection (in pipeline mode, reading the
answer syncs): the service calls these by name and holds no SQL of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg


def statuses(conn: psycopg.Connection[Any], ids: Iterable[str]) -> dict[str, str]:
    """Statuses as committed now (read *before* locking: what the command "saw")."""
    rows = conn.execute("SELECT id, status FROM tasks WHERE id = ANY(%s)", (list(ids),))
    return {r[0]: r[1] for r in rows.fetchall()}


def children(conn: psycopg.Connection[Any], company: str, parents: list[str]) -> list[str]:
    """The company's tasks whose parent is one of `parents`, by id."""
    rows = conn.execute(
        "SELECT id FROM tasks WHERE parent = ANY(%s) AND company = %s ORDER BY id",
        (parents, company),
    )
    return [r[0] for r in rows]


def queue_named(conn: psycopg.Connection[Any], company: str, name: str) -> str | None:
    """The id of the company's queue of this name, if it exists."""
    row = conn.execute(
        "SELECT id FROM queues WHERE company = %s AND name = %s", (company, name)
    ).fetchone()
    return None if row is None else str(row[0])


def queue_exists(conn: psycopg.Connection[Any], company: str, queue_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM queues WHERE id = %s AND company = %s", (queue_id, company)
    ).fetchone()
    return row is not None


def project_named(conn: psycopg.Connection[Any], company: str, name: str) -> str | None:
    """The id of the company's project of this name, if it exists."""
    row = conn.execute(
        "SELECT id FROM projects WHERE company = %s AND name = %s", (company, name)
    ).fetchone()
    return None if row is None else str(row[0])
