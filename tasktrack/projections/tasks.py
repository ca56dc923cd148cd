"""The `tasks` read model: one row per live task, every field of ClearML's task object.

The row is also the stream's snapshot: `stream_version`, `head_hash` and `head_at` are the
stream head the service checks and appends after, so folding a task's stream from the log must
give exactly its row (a fixture checks this after every integration test).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.evolve import evolve
from tasktrack.domain.records import Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections import bulk
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store.taskrows import (
    COLUMNS,
    SELECT_LIST,
    TaskRow,
    placeholders,
    row_params,
    state_from_row,
)


class TasksProjector(StreamReplay):
    """Keeps `tasks` equal to the fold of every live task's stream."""

    name = "tasks"

    def __init__(self, table: str = "tasks") -> None:
        self.table = table
        self._upsert = (
            f"INSERT INTO {table} ({SELECT_LIST}) VALUES ({placeholders()}) "
            "ON CONFLICT (company, id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("company", "id"))
        )

    @property
    def select_sql(self) -> str:
        """The rows of one company's tasks by id (parameters: the company, the list of ids).
        Held to the company so that on Citus the read goes to its tenant's shard alone."""
        return f"SELECT {SELECT_LIST} FROM {self.table} WHERE company = %s AND id = ANY(%s)"

    def rows(self, fetched: Iterable[Sequence[Any]]) -> dict[str, TaskRow]:
        return {r[0]: state_from_row(r) for r in fetched}

    def load(
        self, conn: psycopg.Connection[Any], company: str, ids: Iterable[str]
    ) -> dict[str, TaskRow]:
        """The stored rows of these tasks of `company` (missing ids are absent)."""
        return self.rows(conn.execute(self.select_sql, (company, list(ids))).fetchall())

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        touched: dict[str, Recorded] = {}
        mine = [r for r in batch if isinstance(r.event, ev.TASK_EVENTS)]
        # The tenant of a stream is the company of its metadata (domain/chain.py holds every
        # event of a stream to the same one): a batch's rows are read per tenant.
        missing: dict[str, set[str]] = {}
        for r in mine:
            if r.stream_id not in states and not isinstance(r.event, ev.TaskCreated):
                missing.setdefault(r.metadata.company, set()).add(r.stream_id)
        for company, ids in missing.items():
            states.update({k: row.state for k, row in self.load(conn, company, ids).items()})
        for record in mine:
            state = states.get(record.stream_id)
            states[record.stream_id] = evolve(state, record.event)
            touched[record.stream_id] = record
        gone = [stream_id for stream_id in touched if states[stream_id].deleted]
        rows = [
            row_params(
                states[stream_id], StreamHead(last.stream_version, last.hash), last.recorded_at
            )
            for stream_id, last in touched.items()
            if not states[stream_id].deleted
        ]
        for company in {states[stream_id].company for stream_id in gone}:
            doomed = [g for g in gone if states[g].company == company]
            conn.execute(
                f"DELETE FROM {self.table} WHERE company = %s AND id = ANY(%s)", (company, doomed)
            )
        if bulk.worth_copying(conn, len(rows)):
            bulk.upsert_rows(conn, self.table, COLUMNS, ("company", "id"), rows)
        elif len(rows) == 1:
            conn.execute(self._upsert, rows[0])
        elif rows:
            # executemany pipelines the statements: one round trip for a rebuild's batch.
            with conn.cursor() as cur:
                cur.executemany(self._upsert, rows)

    def replay(self, stream: Stream, out: Rows) -> None:
        """A task's row, once, from the fold of its whole stream (the replay's fast path)."""
        state = stream.state
        if state is None or state.deleted:
            return
        last = next(r for r in reversed(stream.records) if isinstance(r.event, ev.TASK_EVENTS))
        head = StreamHead(last.stream_version, last.hash)
        out.add(self.table, COLUMNS, row_params(state, head, last.recorded_at))
