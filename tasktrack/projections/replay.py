"""The replay's fast path: the log read stream by stream, each stream folded once, rows COPYed.

Batch-by-batch replay in commit order meets a task again in every batch that holds one of its
events: its state re-read, its row upserted once per batch, its status rows and aggregates
written piecemeal. Read in stream order (`ORDER BY stream_id, stream_version`, the log's unique
index) every stream arrives whole: the driver folds its task events with the one `evolve`
(the live path's, and time travel's), and every projector makes its rows for that stream once
(`Replaying.replay`), which the copier COPYs into fresh tables without secondary indexes
while the next streams fold. Projections that add up across streams (the activity rollup)
keep their sums in memory and write them after the last stream.

Only events of transactions older than a horizon are read (store/eventlog.read_by_stream):
every one of them is committed, and anything written since continues its streams at or above
the horizon, where the caller picks the tail up in commit-safe order (projections/rebuild.py).
Memory holds one stream at a time (its events and folds, reported payloads as stubs), plus
the copier's few chunks and one group of payloads (projections/reported.py).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.evolve import evolve
from tasktrack.domain.records import LOG_START, Checkpoint, Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Replaying, ReplaysPayloads, Stream
from tasktrack.projections.copier import Copier
from tasktrack.store import eventlog

Progress = Callable[[int], None]


class Replayed(msgspec.Struct, frozen=True):
    """How many events a replay folded, and the last of them in commit-safe order."""

    events: int
    last: Checkpoint


# Progress is reported every this many events (a call per stream would cost more than a fold).
PROGRESS_EVERY = 5000


def streams(records: Iterable[Recorded]) -> Iterator[Stream]:
    """The log, read in stream order, as whole streams with their task events folded."""
    stream: list[Recorded] = []
    state: TaskState | None = None
    for record in records:
        if stream and record.stream_id != stream[0].stream_id:
            yield _whole(stream, state)
            stream, state = [], None
        stream.append(record)
        if ev.stream_kind(record.event) == "task":
            state = evolve(state, record.event)
    if stream:
        yield _whole(stream, state)


def _whole(records: list[Recorded], state: TaskState | None) -> Stream:
    first = records[0]
    return Stream(
        id=first.stream_id, kind=ev.stream_kind(first.event), records=records, state=state
    )


def replay(
    reader: psycopg.Connection[Any],
    writer: psycopg.Connection[Any],
    projectors: list[Replaying],
    below: int,
    *,
    until: Checkpoint | Mapping[str, Checkpoint] | None = None,
    progress: Progress | None = None,
) -> Replayed:
    """Replay every event older than `below` (and up to `until`) into the projectors' tables,
    which must be empty. `reader` holds the scan's snapshot, `writer`
    COPYs (from a thread of its own) and runs the projectors' staging statements."""
    for projector in projectors:
        projector.replay_begin(writer)
    writer.commit()
    by_kind: dict[str, list[Replaying]] = {}
    for projector in projectors:
        for kind in projector.kinds:
            by_kind.setdefault(kind, []).append(projector)
    copier = Copier(writer)
    # The fold allocates millions of short-lived objects (records, states, rows) and no
    # cycles: the cycle collector would walk them over and over for nothing (about 6 % of a
    # replay, measured), so it is paused for the pass.
    collecting = gc.isenabled()
    gc.disable()
    events = pending = 0
    last = LOG_START
    try:
        # Reported plots and images come as stubs: their projector reads the payloads it
        # keeps by position, a bounded group at a time, on the scan's connection and snapshot
        # (base.ReplaysPayloads). In the scan, a task's thousand figures would be held whole.
        scan = eventlog.read_by_stream(reader, below, until=until, payloads=False)
        for projector in projectors:
            if isinstance(projector, ReplaysPayloads):
                projector.replay_payloads(functools.partial(eventlog.read_payloads, reader))
        for stream in streams(scan):
            for projector in by_kind.get(stream.kind, ()):
                projector.replay(stream, copier)
            events += len(stream.records)
            last = max(last, *(r.checkpoint for r in stream.records))
            pending += len(stream.records)
            if progress is not None and pending >= PROGRESS_EVERY:
                progress(pending)
                pending = 0
        for projector in projectors:
            projector.replay_done(copier)
    except BaseException:
        copier.abandon()
        raise
    finally:
        if collecting:
            gc.enable()
        reader.rollback()  # the scan's snapshot is no longer needed
    copier.close()
    for projector in projectors:
        projector.replay_finish(writer)
    writer.commit()
    if progress is not None and pending:
        progress(pending)
    return Replayed(events, last)
