"""`queues` and `queue_entries`: every live queue (the fold of its stream, and the stream's
head) and its waiting line in order.

Live, per batch: the rows of the queues it continues are read once, the events folded in
memory and the rows written back (deleted queues removed); the line is changed statement by
statement in log order, each statement applying domain/queues.py's rule for its event (a task
enters with the largest rank plus one; a move renumbers the line). A replay folds the whole
stream with `line` and writes each entry once: the same ranks.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain import queues
from tasktrack.domain.queues import Entry, QueueState
from tasktrack.domain.records import Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store import queuerows


class QueuesProjector(StreamReplay):
    """Keeps `queues` and `queue_entries` equal to the fold of every live queue's stream."""

    kinds = frozenset({"queue"})
    name = "queues"

    def __init__(self, table: str = "queues", entries: str = "queue_entries") -> None:
        self.table = table
        self.entries = entries
        self._upsert = queuerows.upsert_sql(table)

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        mine = [r for r in batch if isinstance(r.event, ev.QUEUE_EVENTS)]
        if not mine:
            return
        # The tenant of a stream is the company of its metadata (domain/chain.py holds every
        # event of a stream to the same one).
        continued = {r.stream_id for r in mine if not isinstance(r.event, ev.QueueCreated)}
        found: dict[str, QueueState | None] = {}
        for company in {r.metadata.company for r in mine}:
            loaded = queuerows.load(conn, company, continued, self.table)
            found.update({k: row.state for k, row in loaded.items()})
        last: dict[str, Recorded] = {}
        for record in mine:
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

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live queue's row and its entries, once, from the fold of its whole stream."""
        mine = [r for r in stream.records if isinstance(r.event, ev.QUEUE_EVENTS)]
        state: QueueState | None = None
        line: list[Entry] = []
        for record in mine:
            state = queues.evolve(state, record.event)
            line = queues.line(line, record.event)
        if state is None or state.deleted:
            return
        head = StreamHead(mine[-1].stream_version, mine[-1].hash)
        out.add(
            self.table,
            queuerows.COLUMNS,
            queuerows.row_params(state, head, mine[-1].recorded_at),
        )
        for entry in line:
            out.add(
                self.entries,
                queuerows.ENTRY_COLUMNS,
                (state.company, state.id, entry.task, entry.rank, entry.added),
            )
