"""`queues` and `queue_entries`: every live queue (the fold of its stream, and the stream's
head) and its waiting line in order.

Live, per batch: the rows of the queues it continues are read once, the events folded in
memory and the rows written back (deleted queues removed); the line is changed statement by
statement in log order, each statement applying domain/queues.py's rule for its event (a task
enters with the largest rank plus one; a move renumbers the line). A replay folds the whole
stream with `line` and writes each entry once: the same ranks.

Handouts are facts of the tasks' streams (TaskHandedOut, naming the queue and the queue
stream's version at the time): live, each deletes its entry and leaves the queue's row alone
(a row every agent of the queue would otherwise update: the lock they would queue on). A
replay meets queue and task streams in any order, so it keeps each queue's line events and the
handouts it finds until every stream is seen (`replay_done`), then folds each line with its
handouts put right after the queue event whose version they name: the order the live path
applied them in, since commands that change a line exclude handouts (service/queue_lines.py).
Old logs' QueueTaskHandedOut, on the queue's stream, folds as it always did.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import datetime
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain import queues
from tasktrack.domain.queues import QueueState
from tasktrack.domain.records import Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store import queuerows


class QueuesProjector(StreamReplay):
    """Keeps `queues` and `queue_entries` equal to the fold of every live queue's stream."""

    kinds = frozenset({"queue", "task"})
    name = "queues"

    def __init__(self, table: str = "queues", entries: str = "queue_entries") -> None:
        self.table = table
        self.entries = entries
        self._upsert = queuerows.upsert_sql(table)
        # A replay's, until replay_done: each live queue's row and line events, and the
        # handouts of each (company, queue) by the queue version they follow.
        self._queues: list[tuple[QueueState, list[Any], list[tuple[int, ev.AnyEvent]]]] = []
        self._handouts: dict[tuple[str, str], list[tuple[int, str, datetime]]] = {}

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # In log order, handouts among the queues' events: a catch-up or a replay's tail
        # applies many commands per batch, and a handout must follow its task's entering.
        mine = [r for r in batch if isinstance(r.event, (*ev.QUEUE_EVENTS, ev.TaskHandedOut))]
        if not mine:
            return
        # The tenant of a stream is the company of its metadata (domain/chain.py holds every
        # event of a stream to the same one).
        continued = {
            r.stream_id for r in mine if not isinstance(r.event, ev.QueueCreated | ev.TaskHandedOut)
        }
        found: dict[str, QueueState | None] = {}
        for company in {r.metadata.company for r in mine}:
            loaded = queuerows.load(conn, company, continued, self.table)
            found.update({k: row.state for k, row in loaded.items()})
        last: dict[str, Recorded] = {}
        for record in mine:
            if isinstance(record.event, ev.TaskHandedOut):
                # Only the line changes: the queue's row (and its stream head) stays as is.
                conn.execute(
                    f"DELETE FROM {self.entries} "
                    "WHERE company = %s AND queue_id = %s AND task_id = %s",
                    (record.metadata.company, record.event.queue, record.stream_id),
                )
                continue
            folded = queues.evolve(found.get(record.stream_id), record.event)
            found[record.stream_id] = folded
            last[record.stream_id] = record
            self._line(conn, folded, record.event)
        rows = []
        gone = []
        for queue_id, record in last.items():
            state = found[queue_id]
            assert state is not None
            if state.deleted:
                gone.append((state.company, queue_id))
                continue
            head = StreamHead(record.stream_version, record.hash)
            rows.append(queuerows.row_params(state, head, record.recorded_at))
        if rows:
            with conn.cursor() as cur:
                cur.executemany(self._upsert, rows)
        for company, queue_id in gone:
            conn.execute(
                f"DELETE FROM {self.table} WHERE company = %s AND id = %s", (company, queue_id)
            )

    def _line(self, conn: psycopg.Connection[Any], state: QueueState, event: ev.AnyEvent) -> None:
        """One change of the waiting line, by domain/queues.py's rules, in SQL."""
        key = (state.company, state.id)
        match event:
            case ev.QueueTaskAdded():
                # Two statements, sent together (no round trip between them in a pipeline):
                # behind the last entry of a line that has one, else first. The first takes
                # its company and queue from the line's own rows, not from parameters, so
                # that on Citus the INSERT ... SELECT runs whole on the tenant's shard (a
                # constant company made Citus pull the rows to the coordinator and copy them
                # back on a second connection: a two-phase commit). On an empty line it
                # inserts nothing and the second one inserts rank 1; otherwise the second
                # finds the entry just added and does nothing.
                conn.execute(
                    f"INSERT INTO {self.entries} (company, queue_id, task_id, rank, added) "
                    f"SELECT company, queue_id, %s, max(rank) + 1, %s FROM {self.entries} "
                    "WHERE company = %s AND queue_id = %s GROUP BY company, queue_id",
                    (event.task, event.at, *key),
                )
                conn.execute(
                    f"INSERT INTO {self.entries} (company, queue_id, task_id, rank, added) "
                    "VALUES (%s, %s, %s, 1, %s) "
                    "ON CONFLICT (company, queue_id, task_id) DO NOTHING",
                    (*key, event.task, event.at),
                )
            case ev.QueueTaskRemoved() | ev.QueueTaskHandedOut():
                conn.execute(
                    f"DELETE FROM {self.entries} "
                    "WHERE company = %s AND queue_id = %s AND task_id = %s",
                    (*key, event.task),
                )
            case ev.QueueTaskMoved():
                line = queuerows.entries(conn, *key, table=self.entries)
                moved = queues.moved(line, event.task, event.position)
                conn.execute(
                    f"UPDATE {self.entries} AS e SET rank = m.rank "
                    "FROM unnest(%s::text[], %s::bigint[]) AS m(task_id, rank) "
                    "WHERE e.company = %s AND e.queue_id = %s AND e.task_id = m.task_id",
                    ([e.task for e in moved], [e.rank for e in moved], *key),
                )
            case ev.QueueDeleted():
                conn.execute(
                    f"DELETE FROM {self.entries} WHERE company = %s AND queue_id = %s", key
                )
            case _:
                pass

    def replay_begin(self, conn: psycopg.Connection[Any]) -> None:
        self._queues, self._handouts = [], {}  # nothing left from a replay that failed

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live queue's row and line events, or a task's handouts, kept for replay_done."""
        if stream.kind == "task":
            for record in stream.records:
                e = record.event
                if isinstance(e, ev.TaskHandedOut):
                    key = (record.metadata.company, e.queue)
                    handout = (e.queue_version, stream.id, e.entered)
                    self._handouts.setdefault(key, []).append(handout)
            return
        mine = [r for r in stream.records if isinstance(r.event, ev.QUEUE_EVENTS)]
        state: QueueState | None = None
        changes: list[tuple[int, ev.AnyEvent]] = []
        for record in mine:
            state = queues.evolve(state, record.event)
            if isinstance(record.event, queues.LINE_EVENTS):
                changes.append((record.stream_version, record.event))
        if state is None or state.deleted:
            return
        head = StreamHead(mine[-1].stream_version, mine[-1].hash)
        self._queues.append(
            (state, queuerows.row_params(state, head, mine[-1].recorded_at), changes)
        )

    def replay_done(self, out: Rows) -> None:
        """Each live queue's row, and its line: its events with its handouts in place."""
        for state, row, changes in self._queues:
            out.add(self.table, queuerows.COLUMNS, row)
            handouts = self._handouts.get((state.company, state.id), [])
            for entry in queues.line_with_handouts(changes, handouts):
                out.add(
                    self.entries,
                    queuerows.ENTRY_COLUMNS,
                    (state.company, state.id, entry.task, entry.rank, entry.added),
                )
        self._queues = []
        self._handouts = {}
