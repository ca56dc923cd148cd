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
from tasktrack.projections.base import Rows, Stream, StreamReplay


def _created(e: ev.ProjectCreated) -> dict[str, Any]:
    """A new project's row (`public` takes the column's default, false)."""
    return {
        "id": e.project_id,
        "company": e.company,
        "name": e.name,
        "description": e.description,
        "user_id": e.by,
        "created": e.at,
        "tags": e.tags,
        "system_tags": e.system_tags,
        "default_output_destination": e.default_output_destination,
        "parent": e.parent,
        "last_update": e.at,
    }


def _changes(e: ev.AnyEvent) -> tuple[str, dict[str, Any]] | None:
    """The project an edit changes and the columns it sets (besides `last_update`); None for
    other events."""
    if isinstance(e, ev.ProjectEdited):
        fields = {
            "description": e.description,
            "tags": e.tags,
            "system_tags": e.system_tags,
            "default_output_destination": e.default_output_destination,
        }
        return e.project_id, {k: v for k, v in fields.items() if v is not UNSET}
    if isinstance(e, ev.ProjectRenamed):
        return e.project_id, {"name": e.name}
    if isinstance(e, ev.ProjectMoved):
        return e.project_id, {"name": e.name, "parent": e.parent}
    if isinstance(e, ev.ProjectVisibilityChanged):
        return e.project_id, {"public": e.public}
    return None


class ProjectsProjector(StreamReplay):
    kinds = frozenset({"project"})
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
                row = _created(e)
                conn.execute(
                    f"INSERT INTO {self.table} ({', '.join(row)}) "
                    f"VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )
            elif isinstance(e, ev.ProjectMerged | ev.ProjectDeleted):
                conn.execute(
                    f"DELETE FROM {self.table} WHERE company = %s AND id = %s",
                    (record.metadata.company, e.project_id),
                )
            elif (edit := _changes(e)) is not None:
                project, changes = edit
                # Column names come from this module, never from a payload. The project is
                # its stream's tenant's (domain/chain.py): held to it, one shard on Citus.
                assignments = ", ".join(f"{column} = %s" for column in [*changes, "last_update"])
                conn.execute(
                    f"UPDATE {self.table} SET {assignments} WHERE company = %s AND id = %s",
                    (*changes.values(), e.at, record.metadata.company, project),
                )

    def replay(self, stream: Stream, out: Rows) -> None:
        """The stream's projects folded in memory, each row written once."""
        rows: dict[str, dict[str, Any]] = {}
        for record in stream.records:
            e = record.event
            if isinstance(e, ev.ProjectCreated):
                rows[e.project_id] = {**_created(e), "public": False}
            elif isinstance(e, ev.ProjectMerged | ev.ProjectDeleted):
                rows.pop(e.project_id, None)
            elif (edit := _changes(e)) is not None and (row := rows.get(edit[0])) is not None:
                row.update(edit[1], last_update=e.at)
        for row in rows.values():
            out.add(self.table, tuple(row), tuple(row.values()))
