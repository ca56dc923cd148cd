"""What a projector is: a name, its tables, and a function that applies a batch of the log."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec
import psycopg

from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState


class Projector(Protocol):
    """Folds events into tables. The same `apply` serves inline, catch-up and rebuild modes."""

    name: str

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        """Apply `batch` (in log order) to this projector's tables, in the caller's transaction.

        `states` maps stream ids to task states known before the batch (the service fills it
        from the rows it locked; a rebuild keeps it across batches). The tasks projector, which
        runs first, folds the batch into it; a projector that needs a state it does not find
        there loads it from its tables.
        """
        ...


@runtime_checkable
class Deferring(Protocol):
    """A projector that, during a replay, may hold what it folded across batches and write it
    when it has gathered enough (fewer, larger writes); `finish` writes what it still holds.
    Inline and catch-up callers never call `defer`: every batch is written before it returns."""

    def defer(self) -> None: ...

    def finish(self, conn: psycopg.Connection[Any]) -> None: ...


class Stream(msgspec.Struct, frozen=True, kw_only=True):
    """One whole stream of the log, in version order, as a replay meets it; `state` is the
    fold of its task events (the one `evolve`), None when it is not a task's stream."""

    id: str
    kind: str  # events.stream_kind of its first event
    records: list[Recorded]
    state: TaskState | None


class Rows(Protocol):
    """Where a replay sends the rows it makes: each table's rows go out once, by COPY."""

    def add(self, table: str, columns: tuple[str, ...], row: Sequence[Any]) -> None: ...


@runtime_checkable
class Replaying(Protocol):
    """A projector with the fast replay path: it is shown the log one whole stream at a time
    (rebuild, verify, import, a new catch-up projector) and writes each of its rows once.

    `replay_begin` runs before the first stream (staging tables), `replay` once per stream of
    the kinds it names in `kinds` (events.stream_kind),
    `replay_done` after the last (rows that aggregate across streams), and `replay_finish`
    after every row is in (set-based work on the staged rows), before the indexes are built.
    The rows must be those `apply` leaves after the same events: `projections verify`
    compares the two after every integration test.
    """

    kinds: frozenset[str]

    def replay_begin(self, conn: psycopg.Connection[Any]) -> None: ...

    def replay(self, stream: Stream, out: Rows) -> None: ...

    def replay_done(self, out: Rows) -> None: ...

    def replay_finish(self, conn: psycopg.Connection[Any]) -> None: ...


# Reads the full events at these log positions, in that order, a bounded group at a time.
ReadPayloads = Callable[[Sequence[int]], Iterator[Recorded]]


@runtime_checkable
class ReplaysPayloads(Protocol):
    """A replaying projector of reported payloads (plots, debug images: megabytes each).

    A replay's scan hands every stream over with those events as stubs (their `events`
    empty, as eventlog reads them for a task's fold): holding a whole stream's figures would
    make a replay's memory grow with a task's reports. `replay_payloads`, called before the
    first stream, gives the projector the reader of the full events, which it calls once it
    knows which of them count (after the stream's last reset, of a live task)."""

    def replay_payloads(self, read: ReadPayloads) -> None: ...


class StreamReplay:
    """Defaults for `Replaying`'s hooks that most projectors do not need (and task streams)."""

    kinds: frozenset[str] = frozenset({"task"})

    def replay_begin(self, conn: psycopg.Connection[Any]) -> None:
        return None

    def replay_done(self, out: Rows) -> None:
        return None

    def replay_finish(self, conn: psycopg.Connection[Any]) -> None:
        return None
