"""`queues`: every queue by id, and its name (unique within a company)."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Rows, Stream, StreamReplay

_COLUMNS = ("id", "company", "name", "created", "user_id")


class QueuesProjector(StreamReplay):
    kinds = frozenset({"queue"})
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
                    f"INSERT INTO {self.table} ({', '.join(_COLUMNS)}) VALUES (%s, %s, %s, %s, %s)",
                    _row(event),
                )

    def replay(self, stream: Stream, out: Rows) -> None:
        for record in stream.records:
            if isinstance(record.event, ev.QueueCreated):
                out.add(self.table, _COLUMNS, _row(record.event))


def _row(event: ev.QueueCreated) -> tuple[Any, ...]:
    return (event.queue_id, event.company, event.name, event.at, event.by)
