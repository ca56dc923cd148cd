"""What a projector is: a name, its tables, and a function that applies a batch of the log."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any, Protocol, runtime_checkable

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
