"""`task_status_history`: one row per status change, with from, to, who, when, why, force."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections import bulk
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.tenants import tenant

COLUMNS = (
    "task_id",
    "stream_version",
    "company",
    "position",
    "from_status",
    "to_status",
    "reason",
    "message",
    "user_id",
    "at",
    "force",
)


def _row(record: Recorded, change: ev.StatusChange, company: str) -> tuple[Any, ...]:
    event = record.event
    return (
        record.stream_id,
        record.stream_version,
        company,
        record.position,
        change.from_status,
        change.to_status,
        change.reason,
        change.message,
        event.by,
        event.at,
        change.force,
    )


class StatusHistoryProjector(StreamReplay):
    name = "task_status_history"

    def __init__(self, table: str = "task_status_history") -> None:
        self.table = table

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        rows: list[tuple[Any, ...]] = []
        for record in batch:
            event = record.event
            if isinstance(event, ev.TaskDeleted):
                self._flush(conn, rows)
                rows = []
                conn.execute(
                    f"DELETE FROM {self.table} WHERE company = %s AND task_id = %s",
                    (tenant(record, states), record.stream_id),
                )
                continue
            change = ev.status_change(event)
            if change is None:
                continue
            rows.append(_row(record, change, tenant(record, states)))
        self._flush(conn, rows)

    def replay(self, stream: Stream, out: Rows) -> None:
        """Every status change of a live task's stream, in version order."""
        if stream.state is None or stream.state.deleted:
            return
        for record in stream.records:
            change = ev.status_change(record.event)
            if change is not None:
                out.add(self.table, COLUMNS, _row(record, change, stream.state.company))

    def _flush(self, conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        # Inline, positions are not known yet (the INSERT of the events is pipelined and read
        # back only at commit): position 0 means "look it up by (stream, version)".
        known = [r for r in rows if r[3]]
        unknown = [(*r[:2], *r[4:], r[2], r[0], r[1]) for r in rows if not r[3]]
        columns = ", ".join(COLUMNS)
        if bulk.worth_copying(conn, len(known)):
            bulk.copy_rows(conn, self.table, COLUMNS, known)
            known = []
        with conn.cursor() as cur:
            if known:
                cur.executemany(
                    f"INSERT INTO {self.table} ({columns}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    known,
                )
            if unknown:
                cur.executemany(
                    f"INSERT INTO {self.table} ({columns}) "
                    # Only inline, for the events this command just appended with this
                    # tenant: looked up with it (so e.company is the tenant), which on a
                    # sharded layout names the one shard that holds them and the row, and
                    # Citus runs the whole INSERT there (docs/architecture.md, "Citus").
                    "SELECT %s, %s, e.company, e.position, %s, %s, %s, %s, %s, %s, %s "
                    "FROM events e "
                    "WHERE e.company = %s AND e.stream_id = %s AND e.stream_version = %s",
                    unknown,
                )
