"""`queues`: every queue by id, and its name (unique within a company)."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState


class QueuesProjector:
    name = "queues"

    def __init__(self, table: str = "queues") -> None:
        self.table = table

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        for record in batch:
            event = record.event
            if isinstance(event, ev.QueueCreated):
                conn.execute(
                    f"INSERT INTO {self.table} (id, company, name, created, user_id) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (event.queue_id, event.company, event.name, event.at, event.by),
                )
