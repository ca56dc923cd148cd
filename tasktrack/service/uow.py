"""One command's unit of work: a transaction that locks, loads, appends, projects, commits.

The order inside matters (store/eventlog.py explains why): every stream lock the command needs
is taken before its first write, then states are read (fresh, after the locks), then events are
appended and the inline projections written in the same transaction, so a write is visible to
the next read and the task row stays the stream's snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import codec
from tasktrack.domain.events import AnyEvent
from tasktrack.domain.records import NEW_STREAM, Metadata, Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections import registry
from tasktrack.projections.base import Projector
from tasktrack.projections.tasks import TasksProjector
from tasktrack.store import commandreads, eventlog, idempotency, transactions
from tasktrack.store.taskrows import TaskRow


class UnitOfWork:
    """The transaction of one command on a raw psycopg connection (not thread-safe)."""

    def __init__(self, conn: psycopg.Connection[Any], metadata: Metadata) -> None:
        self.conn = conn
        self.metadata = metadata
        self.tasks = TasksProjector()
        # The tasks projector first: it folds each batch into self.states for the others.
        self.inline: tuple[Projector, ...] = (self.tasks, *registry.inline()[1:])
        self.states: dict[str, TaskState] = {}
        self.heads: dict[str, StreamHead] = {}
        self.head_times: dict[str, datetime] = {}
        self.appended: list[Recorded] = []
        self.locked: set[str] = set()
        # The queues each task opened `queues=True` waits in, read with its row (after its lock).
        self.waits_in: dict[str, list[str]] = {}
        self.wrote = False  # appended events (even if a savepoint then dropped them)
        self._savepoints = 0

    # --- before the first write -------------------------------------------------------------

    def open(
        self,
        ids: list[str],
        *,
        extra_locks: Iterable[str] = (),
        then: Callable[[psycopg.Connection[Any]], None] | None = None,
        queues: bool = False,
    ) -> dict[str, str]:
        """The usual first step in ONE round trip (the service runs in pipeline mode): read the
        statuses the command "saw" (before locking), take the locks (the tasks and any extra
        names), read the locked rows (fresh: after the locks). Returns the statuses seen.
        `then` sends more reads that need the locks (its cursors are read after the sync).
        `queues`: read with the rows which queues each task waits in (`waits_in`)."""
        names = (set(ids) | set(extra_locks)) - self.locked
        company = self.metadata.company
        locked = eventlog.send_lock_and_see(self.conn, names, ids, company)
        rows = self.tasks.send_select(self.conn, company, ids, with_queues=queues)
        if then is not None:
            then(self.conn)
        statuses = eventlog.seen(locked)  # the pipeline syncs here, once
        self.locked |= names
        fetched = rows.fetchall()
        if queues:
            fetched, tails = self.tasks.split(fetched, 1)
            self.waits_in = {
                row[0]: list(tail[0]) for row, tail in zip(fetched, tails, strict=True)
            }
        self._remember_rows(self.tasks.rows(fetched))
        return statuses

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """Statuses as committed now, read *before* locking: what the command "saw"."""
        return commandreads.statuses(self.conn, self.metadata.company, ids)

    def lock(self, names: Iterable[str]) -> None:
        """Lock streams (and named resources) not locked yet by this unit of work."""
        new = set(names) - self.locked
        if new:
            eventlog.lock_streams(self.conn, new)
            self.locked |= new

    def load(self, ids: Iterable[str]) -> dict[str, TaskRow]:
        """Rows of locked tasks (read after the lock, so they are the latest committed)."""
        rows = self.tasks.load(self.conn, self.metadata.company, ids)
        self._remember_rows(rows)
        return rows

    def load_waiting(self, task_id: str, queue_id: str) -> tuple[datetime, int] | None:
        """Load a locked task's row (as `load`) with its place in a queue's line (added, rank;
        None when it does not wait there): one statement, read after the lock."""
        company = self.metadata.company
        cursor = self.tasks.send_select(self.conn, company, [task_id], entry_in=queue_id)
        rows, tails = self.tasks.split(cursor.fetchall(), 2)
        self._remember_rows(self.tasks.rows(rows))
        if not tails or tails[0][0] is None:
            return None
        added, rank = tails[0]
        return added, int(rank)

    def load_heads(self, stream_ids: Iterable[str]) -> None:
        """Heads of locked streams no read model keeps a head for (projects), from the log."""
        for stream_id, (head, at) in commandreads.stream_heads(
            self.conn, self.metadata.company, stream_ids
        ).items():
            self.heads[stream_id] = head
            self.head_times[stream_id] = at

    def _remember_rows(self, rows: dict[str, TaskRow]) -> None:
        for task_id, row in rows.items():
            self.states[task_id] = row.state
            self.heads[task_id] = row.head
            self.head_times[task_id] = row.head_at

    def stored_response(self, request_id: str, command: msgspec.Struct) -> Any | None:
        """The response of a request already carried out under this request id, if any."""
        return idempotency.stored_response(self.conn, self.metadata.company, request_id, command)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the command that may fail alone: its writes and bookkeeping roll back.

        Explicit SAVEPOINT statements: the service runs the connection in autocommit mode and
        sends BEGIN/COMMIT itself, inside the pipeline (see TaskService._run).
        """
        self._savepoints += 1
        saved = (
            dict(self.states),
            dict(self.heads),
            dict(self.head_times),
            list(self.appended),
        )
        try:
            with transactions.savepoint(self.conn, f"part_{self._savepoints}"):
                yield
        except BaseException:
            self.states, self.heads, self.head_times, self.appended = saved
            raise

    # --- writing ----------------------------------------------------------------------------

    def now(self, streams: Iterable[str] = ()) -> datetime:
        """The command's time: the clock, but never before the last event of its streams."""
        now = datetime.now(UTC)
        for stream in streams:
            last = self.head_times.get(stream)
            if last is not None and last > now:
                now = last
        return now

    def append(self, stream_id: str, events: Sequence[AnyEvent], at: datetime) -> None:
        """Send the events' INSERT (pipelined: no round trip until the commit syncs)."""
        if not events:
            return
        head = self.heads.get(stream_id, NEW_STREAM)
        self.wrote = True
        pending = eventlog.send_append(
            self.conn,
            stream_id=stream_id,
            events=events,
            metadata=self.metadata,
            recorded_at=at,
            head=head,
        )
        for event, landed in zip(events, pending.appended, strict=True):
            self.appended.append(
                Recorded(
                    position=0,  # not known until the pipeline syncs: projectors look it up
                    tx=0,  # inline projectors never need it; catch-up readers read it back
                    stream_id=stream_id,
                    stream_version=landed.stream_version,
                    type=codec.type_of(event),
                    schema_version=type(event).schema_version,
                    event=event,
                    metadata=self.metadata,
                    recorded_at=at,
                    hash=landed.hash,
                )
            )
        last = pending.appended[-1]
        self.heads[stream_id] = StreamHead(last.stream_version, last.hash)
        self.head_times[stream_id] = at

    def project(self) -> None:
        """Run the inline projectors over everything appended since the last call."""
        if not self.appended:
            return
        batch, self.appended = self.appended, []
        # The tasks projector runs first and folds the batch into `self.states`, which then
        # holds the states after this batch for the rest of the unit of work.
        for projector in self.inline:
            projector.apply(self.conn, batch, self.states)

    def remember(self, request_id: str, command: msgspec.Struct, response: Any) -> None:
        idempotency.remember(self.conn, self.metadata.company, request_id, command, response)
