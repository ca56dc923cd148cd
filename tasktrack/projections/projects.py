"""`projects`: every project by id, and its name (unique within a company)."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

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
                conn.execute(
                    f"INSERT INTO {self.table} (id, company, name, description, user_id, created,"
                    " tags, system_tags, default_output_destination) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                    ),
                )
