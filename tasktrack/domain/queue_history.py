"""A queue's history and each task's wait in its line, folded from the queue's story (pure).

The queue's stream says who put a task in line, who moved or removed it; when it was handed
out is a fact of the task's stream (TaskHandedOut; older logs have QueueTaskHandedOut on the
queue's stream), which `story` puts in place among the queue's events; which worker then
took it is another fact of the task's stream (WorkerReported, the worker's first report of
running it), so the caller passes those reports in as `takers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from tasktrack.domain import events as ev

Outcome = Literal["handed_out", "removed", "deleted"]
# task id -> (when, worker) of each WorkerReported on the task's stream, oldest first
Takers = Mapping[str, Sequence[tuple[datetime, str]]]


class QueueStep(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the queue's stream, as a line of its history."""

    at: datetime
    by: str  # the user whose call it was
    what: str  # created, updated, metadata, entered, moved, removed, handed_out, deleted
    task: str | None = None
    worker: str | None = None  # handed_out: the worker that then reported running the task
    detail: str = ""


class LineWait(msgspec.Struct, frozen=True, kw_only=True):
    """One stay of a task in a queue's line, from entering to leaving it."""

    queue: str
    task: str
    entered_at: datetime
    entered_by: str
    left_at: datetime | None  # None while it waits
    outcome: Outcome | None  # None while it waits
    worker: str | None  # handed_out: the worker that took it, if one reported it
    wait_seconds: float | None  # left_at - entered_at (None while it waits)
    seconds_so_far: float  # up to now while it waits


def story(
    queue_events: Iterable[tuple[int, ev.AnyEvent]], handouts: Iterable[tuple[str, ev.AnyEvent]]
) -> list[ev.AnyEvent]:
    """The queue's events (with their stream versions) and the TaskHandedOut events from it
    (with their tasks' ids), as one story: each handout, as a QueueTaskHandedOut, right after
    the queue event whose version it names (then by time), so the folds below read old and
    new logs alike."""
    placed: list[tuple[int, int, datetime, ev.AnyEvent]] = [
        (version, 0, event.at, event) for version, event in queue_events
    ]
    for task, event in handouts:
        if isinstance(event, ev.TaskHandedOut):
            out = ev.QueueTaskHandedOut(at=event.at, by=event.by, task=task)
            placed.append((event.queue_version, 1, event.at, out))
    placed.sort(key=lambda p: p[:3])
    return [p[3] for p in placed]


def taker(takers: Takers, task: str, handed_at: datetime) -> str | None:
    """The worker that first reported running `task` at or after its handout."""
    for at, worker in takers.get(task, ()):
        if at >= handed_at:
            return worker
    return None


def _detail(event: ev.AnyEvent) -> str:
    match event:
        case ev.QueueCreated():
            return f"name={event.name}"
        case ev.QueueUpdated():
            changed = msgspec.to_builtins(event.changes)
            return ", ".join(f"{k}={v}" for k, v in sorted(changed.items()))
        case ev.QueueMetadataChanged():
            keys = [m.key for m in event.upserted]
            return ", ".join([*(f"+{k}" for k in keys), *(f"-{k}" for k in event.deleted)])
        case ev.QueueTaskMoved():
            return f"position={event.position}"
        case ev.QueueTaskRemoved():
            return event.reason
    return ""


_WHAT: dict[type, str] = {
    ev.QueueCreated: "created",
    ev.QueueUpdated: "updated",
    ev.QueueMetadataChanged: "metadata",
    ev.QueueTaskAdded: "entered",
    ev.QueueTaskMoved: "moved",
    ev.QueueTaskRemoved: "removed",
    ev.QueueTaskHandedOut: "handed_out",
    ev.QueueDeleted: "deleted",
}


def steps(events: Iterable[ev.AnyEvent], takers: Takers) -> list[QueueStep]:
    """The queue's stream, oldest first, handouts with the worker that took the task."""
    out = []
    for event in events:
        what = _WHAT.get(type(event))
        if what is None:
            continue
        task: str | None = getattr(event, "task", None)
        handed = isinstance(event, ev.QueueTaskHandedOut)
        worker = taker(takers, task, event.at) if handed and task else None
        out.append(
            QueueStep(
                at=event.at, by=event.by, what=what, task=task, worker=worker, detail=_detail(event)
            )
        )
    return out


def waits(
    queue: str, events: Iterable[ev.AnyEvent], takers: Takers, now: datetime
) -> list[LineWait]:
    """Every stay in the line, in order of entering; a stay still open waits up to `now`."""
    open_: dict[str, tuple[datetime, str]] = {}
    done: list[LineWait] = []

    def close(task: str, at: datetime, outcome: Outcome, worker: str | None) -> None:
        entered_at, entered_by = open_.pop(task)
        seconds = (at - entered_at).total_seconds()
        done.append(
            LineWait(
                queue=queue,
                task=task,
                entered_at=entered_at,
                entered_by=entered_by,
                left_at=at,
                outcome=outcome,
                worker=worker,
                wait_seconds=seconds,
                seconds_so_far=seconds,
            )
        )

    for event in events:
        match event:
            case ev.QueueTaskAdded():
                open_[event.task] = (event.at, event.by)
            case ev.QueueTaskHandedOut() if event.task in open_:
                close(event.task, event.at, "handed_out", taker(takers, event.task, event.at))
            case ev.QueueTaskRemoved() if event.task in open_:
                close(event.task, event.at, "removed", None)
            case ev.QueueDeleted():
                for task in list(open_):
                    close(task, event.at, "deleted", None)
    for task, (entered_at, entered_by) in open_.items():
        done.append(
            LineWait(
                queue=queue,
                task=task,
                entered_at=entered_at,
                entered_by=entered_by,
                left_at=None,
                outcome=None,
                worker=None,
                wait_seconds=None,
                seconds_so_far=max((now - entered_at).total_seconds(), 0.0),
            )
        )
    return sorted(done, key=lambda w: (w.entered_at, w.task))


def handed_out(events: Iterable[ev.AnyEvent]) -> list[str]:
    """The tasks the queue handed out (whose takers the history needs)."""
    return sorted({e.task for e in events if isinstance(e, ev.QueueTaskHandedOut)})
