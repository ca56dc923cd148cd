"""Reads about the links between tasks and models, for the commands that keep them consistent.

Each is one statement on the command's raw psycopg connection (in pipeline mode, reading the
answer syncs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg


def ids_of_task(conn: psycopg.Connection[Any], company: str, task_id: str) -> list[str]:
    """The company's models whose `task` is this task (its output models, seen from their side)."""
    cursor = conn.execute(
        "SELECT id FROM models WHERE company = %s AND task = %s ORDER BY id", (company, task_id)
    )
    return [r[0] for r in cursor.fetchall()]


def readable_ids(conn: psycopg.Connection[Any], company: str, ids: Iterable[str]) -> set[str]:
    """Which of these ids are live models the company may read (its own, or public ones)."""
    cursor = conn.execute(
        "SELECT id FROM models WHERE id = ANY(%s) AND (company = %s OR public)",
        (list(ids), company),
    )
    return {r[0] for r in cursor.fetchall()}


def input_users(
    conn: psycopg.Connection[Any], company: str, model_ids: list[str]
) -> dict[str, list[str]]:
    """The company's tasks that take these models as input, by model: an entry of their
    `models.input`, or the legacy `execution.model` (the input model of API versions < 2.13).

    A scan of the company's tasks (no index on the references yet): it runs only when a model
    is deleted, or a reset or delete meets draft output models."""
    if not model_ids:
        return {}
    cursor = conn.execute(
        "SELECT DISTINCT ref, t.id FROM tasks t, LATERAL ("
        " SELECT jsonb_array_elements(COALESCE(t.models -> 'input', '[]'::jsonb)) ->> 'model'"
        " UNION ALL SELECT t.execution ->> 'model'"
        ") AS refs(ref) WHERE t.company = %s AND ref = ANY(%s) ORDER BY ref, t.id",
        (company, model_ids),
    )
    users: dict[str, list[str]] = {}
    for model_id, task_id in cursor.fetchall():
        users.setdefault(model_id, []).append(task_id)
    return users
