"""`projects`: every live project by id, its name (unique within a company) and its parent.

Each fact of a project stream is one statement on the project's own row: a rename of an
ancestor reaches a descendant through the descendant's own ProjectRenamed, so a replay needs
no lookups. A merged or deleted project's row goes.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg
from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState


class ProjectsProjector:
    name = "projects"

    def __init__(self, table: str = "projects") -> None:
        self.table = table

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        for record in batch:
            e = record.event
            if isinstance(e, ev.ProjectCreated):
                self._insert(conn, e)
            elif isinstance(e, ev.ProjectEdited):
                self._edit(conn, e)
            elif isinstance(e, ev.ProjectRenamed):
                self._set(conn, e.project_id, e.at, name=e.name)
            elif isinstance(e, ev.ProjectMoved):
                self._set(conn, e.project_id, e.at, name=e.name, parent=e.parent)
            elif isinstance(e, ev.ProjectVisibilityChanged):
                self._set(conn, e.project_id, e.at, public=e.public)
            elif isinstance(e, ev.ProjectMerged | ev.ProjectDeleted):
                conn.execute(f"DELETE FROM {self.table} WHERE id = %s", (e.project_id,))

    def _insert(self, conn: psycopg.Connection[Any], e: ev.ProjectCreated) -> None:
        conn.execute(
            f"INSERT INTO {self.table} (id, company, name, description, user_id, created,"
            " tags, system_tags, default_output_destination, parent, last_update) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.project_id,
                e.company,
                e.name,
                e.description,
                e.by,
                e.at,
                e.tags,
                e.system_tags,
                e.default_output_destination,
                e.parent,
                e.at,
            ),
        )

    def _edit(self, conn: psycopg.Connection[Any], e: ev.ProjectEdited) -> None:
        fields = {
            "description": e.description,
            "tags": e.tags,
            "system_tags": e.system_tags,
            "default_output_destination": e.default_output_destination,
        }
        self._set(conn, e.project_id, e.at, **{k: v for k, v in fields.items() if v is not UNSET})

    def _set(self, conn: psycopg.Connection[Any], project_id: str, at: Any, **values: Any) -> None:
        # Column names come from this module, never from a payload.
        assignments = ", ".join(f"{column} = %s" for column in values)
        conn.execute(
            f"UPDATE {self.table} SET {assignments}, last_update = %s WHERE id = %s",
            (*values.values(), at, project_id),
        )
