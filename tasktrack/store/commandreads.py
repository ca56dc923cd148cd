"""What a command's unit of work reads besides task rows: statuses, children, queues, projects.

Each is one statement on the command's raw psycopg connection (in pipeline mode, reading the
answer syncs): the service calls these by name and holds no SQL of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg

from tasktrack.domain.projects import Contents, ProjectNode
from tasktrack.domain.records import StreamHead


def statuses(conn: psycopg.Connection[Any], company: str, ids: Iterable[str]) -> dict[str, str]:
    """Statuses of the company's tasks as committed now (read *before* locking: what the
    command "saw"); held to the company, one shard on Citus."""
    rows = conn.execute(
        "SELECT id, status FROM tasks WHERE company = %s AND id = ANY(%s)", (company, list(ids))
    )
    return {r[0]: r[1] for r in rows.fetchall()}


def children(conn: psycopg.Connection[Any], company: str, parents: list[str]) -> list[str]:
    """The company's tasks whose parent is one of `parents`, by id."""
    rows = conn.execute(
        "SELECT id FROM tasks WHERE parent = ANY(%s) AND company = %s ORDER BY id",
        (parents, company),
    )
    return [r[0] for r in rows]


def published_children(conn: psycopg.Connection[Any], company: str, parent: str) -> int:
    """How many of the company's tasks whose parent is `parent` are published."""
    row = conn.execute(
        "SELECT count(*) FROM tasks WHERE parent = %s AND company = %s AND status = 'published'",
        (parent, company),
    ).fetchone()
    return 0 if row is None else int(row[0])


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


def stream_heads(
    conn: psycopg.Connection[Any], company: str, stream_ids: Iterable[str]
) -> dict[str, tuple[StreamHead, datetime]]:
    """The last event of each of the company's streams (for streams whose head no read model
    keeps: projects). Held to the company (every event of a stream is its tenant's,
    domain/chain.py): on Citus the tenant's shard of the log alone, not every shard."""
    rows = conn.execute(
        "SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash, recorded_at"
        " FROM events WHERE company = %s AND stream_id = ANY(%s)"
        " ORDER BY stream_id, stream_version DESC",
        (company, list(stream_ids)),
    )
    return {r[0]: (StreamHead(r[1], bytes(r[2])), r[3]) for r in rows.fetchall()}


def company_projects(conn: psycopg.Connection[Any], company: str) -> list[ProjectNode]:
    """Every project of the company: what a change of the project tree decides against."""
    rows = conn.execute(
        "SELECT id, name, parent, public, system_tags FROM projects WHERE company = %s",
        (company,),
    )
    return [
        ProjectNode(id=r[0], name=r[1], parent=r[2], public=r[3], system_tags=list(r[4]))
        for r in rows.fetchall()
    ]


def project_tasks(
    conn: psycopg.Connection[Any], company: str, project_ids: list[str]
) -> tuple[dict[str, Contents], dict[str, list[str]], list[str]]:
    """The tasks of these projects: per project what it holds unarchived (counts, and the
    ids), and every task of them, archived included."""
    rows = conn.execute(
        "SELECT id, project, type, 'archived' = ANY(system_tags) FROM tasks"
        " WHERE company = %s AND project = ANY(%s) ORDER BY id",
        (company, project_ids),
    ).fetchall()
    unarchived: dict[str, list[str]] = {}
    controllers: dict[str, int] = {}
    for task_id, project, kind, archived in rows:
        if not archived:
            unarchived.setdefault(project, []).append(task_id)
            controllers[project] = controllers.get(project, 0) + (kind == "controller")
    contents = {
        p: Contents(tasks=len(ids), controllers=controllers.get(p, 0))
        for p, ids in unarchived.items()
    }
    return contents, unarchived, [r[0] for r in rows]


def project_models(
    conn: psycopg.Connection[Any], company: str, project_ids: list[str]
) -> list[str]:
    """The ids of the company's models in these projects (archived ones too), by id."""
    rows = conn.execute(
        "SELECT id FROM models WHERE company = %s AND project = ANY(%s) ORDER BY id",
        (company, project_ids),
    )
    return [r[0] for r in rows.fetchall()]
