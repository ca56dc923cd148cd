"""The `tasks` read model: one row per live task, every field of ClearML's task object.

The row is also the stream's snapshot: `stream_version`, `head_hash` and `head_at` are the
stream head the service checks and appends after, so folding a task's stream from the log must
give exactly its row (a fixture checks this after every integration test).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

import psycopg
from psycopg import pq

from tasktrack.domain import events as ev
from tasktrack.domain.evolve import evolve
from tasktrack.domain.records import Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections import bulk
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store.keyed import KEYS, keyed
from tasktrack.store.taskrows import (
    COLUMNS,
    SELECT_LIST,
    TaskRow,
    changed_params,
    placeholders,
    row_params,
    state_from_row,
    update_sql,
)

# What a command's read of its task's row may add (TasksProjector.send_select).
_WAITS_IN = (
    "ARRAY(SELECT e.queue_id FROM queue_entries e "
    "WHERE e.company = %s AND e.task_id = {table}.id ORDER BY e.queue_id)"
)
_ENTRY = (
    "(SELECT e.{column} FROM queue_entries e "
    "WHERE e.company = %s AND e.queue_id = %s AND e.task_id = {table}.id)"
)


@functools.cache  # one per table name: projectors are made per command
def _upsert_sql(table: str) -> str:
    return (
        f"INSERT INTO {table} ({SELECT_LIST}) VALUES ({placeholders()}) "
        "ON CONFLICT (company, id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("company", "id"))
    )


class TasksProjector(StreamReplay):
    """Keeps `tasks` equal to the fold of every live task's stream."""

    name = "tasks"

    def __init__(self, table: str = "tasks") -> None:
        self.table = table
        self._upsert = _upsert_sql(table)

    def send_select(
        self,
        conn: psycopg.Connection[Any],
        company: str,
        ids: Sequence[str],
        *,
        with_queues: bool = False,
        entry_in: str | None = None,
    ) -> psycopg.Cursor[Any]:
        """Send the read of these tasks of `company` by id (`rows` reads its answer). Held to
        the company so that on Citus the read goes to its tenant's shard alone.

        A command's read after its lock may carry more, read with the row's snapshot, so in
        the same statement instead of one more (`split` takes them off the rows): with
        `with_queues`, the ids of the queues the task waits in; with `entry_in`, its place in
        that queue's line (added, rank; NULLs when it does not wait there). The entries' reads
        are held to the company too: every table of the statement then names the one tenant,
        so Citus routes the whole of it to one shard."""
        extras: list[str] = []
        params: list[Any] = []
        if with_queues:
            extras.append(_WAITS_IN.format(table=self.table))
            params.append(company)
        if entry_in is not None:
            extras += [_ENTRY.format(column=c, table=self.table) for c in ("added", "rank")]
            params += [company, entry_in, company, entry_in]
        columns = ", ".join([SELECT_LIST, *extras])
        statement, keys = keyed(
            f"SELECT {columns} FROM {self.table} WHERE company = %s AND id {KEYS}", ids
        )
        return conn.execute(statement, (*params, company, keys))

    @staticmethod
    def split(
        fetched: Sequence[Sequence[Any]], extra: int
    ) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
        """Rows read with `extra` more columns: the rows as `rows` takes them, and the rest."""
        return [r[:-extra] for r in fetched], [r[-extra:] for r in fetched]

    def rows(self, fetched: Iterable[Sequence[Any]]) -> dict[str, TaskRow]:
        return {r[0]: state_from_row(r) for r in fetched}

    def load(
        self, conn: psycopg.Connection[Any], company: str, ids: Iterable[str]
    ) -> dict[str, TaskRow]:
        """The stored rows of these tasks of `company` (missing ids are absent)."""
        return self.rows(self.send_select(conn, company, list(ids)).fetchall())

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        touched: dict[str, Recorded] = {}
        # The state each touched task's stored row holds now: `states` is the stored rows'
        # (read by the unit of work or below, or written by an earlier batch); None: no row.
        stored: dict[str, TaskState | None] = {}
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
            if record.stream_id not in stored:
                stored[record.stream_id] = None if state is None or state.deleted else state
            states[record.stream_id] = evolve(state, record.event)
            touched[record.stream_id] = record
        gone = [stream_id for stream_id in touched if states[stream_id].deleted]
        for company in {states[stream_id].company for stream_id in gone}:
            doomed = [g for g in gone if states[g].company == company]
            conn.execute(
                f"DELETE FROM {self.table} WHERE company = %s AND id = ANY(%s)", (company, doomed)
            )
        live = [(s, last) for s, last in touched.items() if not states[s].deleted]
        new: list[list[Any]] = []
        # In pipeline mode (the service's commands) a row already stored gets an UPDATE of
        # its changed columns only: no 40-column rewrite, no parsing of eight unchanged JSON
        # documents on the server. Outside it (a replay's batches) each statement would be a
        # round trip: the rows go together, by COPY or one pipelined executemany.
        pipelined = conn.pgconn.pipeline_status != pq.PipelineStatus.OFF
        for stream_id, last in live:
            before = stored[stream_id]
            if before is None or not pipelined:
                new.append(self._row(states[stream_id], last))
                continue
            head = StreamHead(last.stream_version, last.hash)
            changed, params = changed_params(before, states[stream_id], head, last.recorded_at)
            conn.execute(update_sql(self.table, changed), params)
        if bulk.worth_copying(conn, len(new)):
            bulk.upsert_rows(conn, self.table, COLUMNS, ("company", "id"), new)
        elif len(new) == 1:
            conn.execute(self._upsert, new[0])
        elif new:
            # executemany pipelines the statements: one round trip for a rebuild's batch.
            with conn.cursor() as cur:
                cur.executemany(self._upsert, new)

    @staticmethod
    def _row(state: TaskState, last: Recorded) -> list[Any]:
        return row_params(state, StreamHead(last.stream_version, last.hash), last.recorded_at)

    def replay(self, stream: Stream, out: Rows) -> None:
        """A task's row, once, from the fold of its whole stream (the replay's fast path)."""
        state = stream.state
        if state is None or state.deleted:
            return
        last = next(r for r in reversed(stream.records) if isinstance(r.event, ev.TASK_EVENTS))
        head = StreamHead(last.stream_version, last.hash)
        out.add(self.table, COLUMNS, row_params(state, head, last.recorded_at))
