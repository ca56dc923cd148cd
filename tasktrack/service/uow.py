"""One command's unit of work: a transaction that locks, loads, appends, projects, commits.

The order inside matters (store/eventlog.py explains why): every stream lock the command needs
is taken before its first write, then states are read (fresh, after the locks), then events are
appended and the inline projections written in the same transaction, so a write is visible to
the next read and the task row stays the stream's snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import codec
from tasktrack.domain.errors import RequestIdReused
from tasktrack.domain.events import AnyEvent
from tasktrack.domain.records import NEW_STREAM, Metadata, Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections import registry
from tasktrack.projections.base import Projector
from tasktrack.projections.tasks import TasksProjector
from tasktrack.store import eventlog
from tasktrack.store.taskrows import TaskRow

_encoder = msgspec.json.Encoder()


def idempotency_lock(company: str, request_id: str) -> str:
    return f"request:{company}:{request_id}"


def fingerprint(command: msgspec.Struct) -> bytes:
    return hashlib.sha256(type(command).__name__.encode() + _encoder.encode(command)).digest()


# The statuses a command "saw" and its locks, in one statement (a statement costs the client
# more than the server here). The statuses are read with the statement's snapshot, taken
# before the locks are granted: what was committed when the command arrived. The rows the
# command decides on are read by the *next* statement, whose snapshot follows the locks.
OPEN_SQL = (
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, locks.n, seen.ids, seen.statuses "
    "FROM (SELECT count(*) AS n FROM (SELECT pg_advisory_xact_lock(k) "
    "      FROM unnest(%s::bigint[]) AS k) AS taken) AS locks, "
    "     (SELECT array_agg(id) AS ids, array_agg(status) AS statuses "
    "      FROM tasks WHERE id = ANY(%s)) AS seen"
)


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
        self._savepoints = 0

    # --- before the first write -------------------------------------------------------------

    def open(self, ids: list[str], *, extra_locks: Iterable[str] = ()) -> dict[str, str]:
        """The usual first step in ONE round trip (the service runs in pipeline mode): read the
        statuses the command "saw" (before locking), take the locks (the tasks and any extra
        names), read the locked rows (fresh: after the locks). Returns the statuses seen."""
        names = (set(ids) | set(extra_locks)) - self.locked
        locked = self.conn.execute(OPEN_SQL, (eventlog.lock_keys(names), ids))
        rows = self.conn.execute(self.tasks.select_sql, (ids,))
        row = locked.fetchone()  # the pipeline syncs here, once
        eventlog.check_locked(row)
        assert row is not None
        statuses = dict(zip(row[2] or [], row[3] or [], strict=True))
        self.locked |= names
        self._remember_rows(self.tasks.rows(rows.fetchall()))
        return statuses

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """Statuses as committed now, read *before* locking: what the command "saw"."""
        rows = self.conn.execute(
            "SELECT id, status FROM tasks WHERE id = ANY(%s)", (list(ids),)
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def lock(self, names: Iterable[str]) -> None:
        """Lock streams (and named resources) not locked yet by this unit of work."""
        new = set(names) - self.locked
        if new:
            eventlog.lock_streams(self.conn, new)
            self.locked |= new

    def load(self, ids: Iterable[str]) -> dict[str, TaskRow]:
        """Rows of locked tasks (read after the lock, so they are the latest committed)."""
        rows = self.tasks.load(self.conn, ids)
        self._remember_rows(rows)
        return rows

    def _remember_rows(self, rows: dict[str, TaskRow]) -> None:
        for task_id, row in rows.items():
            self.states[task_id] = row.state
            self.heads[task_id] = row.head
            self.head_times[task_id] = row.head_at

    def stored_response(self, request_id: str, command: msgspec.Struct) -> Any | None:
        """The response of a request already carried out under this request id, if any."""
        row = self.conn.execute(
            "SELECT fingerprint, response FROM idempotency_keys "
            "WHERE company = %s AND request_id = %s",
            (self.metadata.company, request_id),
        ).fetchone()
        if row is None:
            return None
        if bytes(row[0]) != fingerprint(command):
            raise RequestIdReused(
                f"request id {request_id!r} was already used for a different request",
                request_id=request_id,
            )
        return row[1]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the command that may fail alone: its writes and bookkeeping roll back.

        Explicit SAVEPOINT statements: the service runs the connection in autocommit mode and
        sends BEGIN/COMMIT itself, inside the pipeline (see TaskService._run).
        """
        self._savepoints += 1
        name = f"part_{self._savepoints}"
        saved = (
            dict(self.states),
            dict(self.heads),
            dict(self.head_times),
            list(self.appended),
        )
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.states, self.heads, self.head_times, self.appended = saved
            raise
        self.conn.execute(f"RELEASE SAVEPOINT {name}")

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
        self.conn.execute(
            "INSERT INTO idempotency_keys (company, request_id, fingerprint, response, created_at) "
            "VALUES (%s, %s, %s, %s::jsonb, now())",
            (
                self.metadata.company,
                request_id,
                fingerprint(command),
                _encoder.encode(response).decode(),
            ),
        )
