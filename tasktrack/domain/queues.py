"""A queue's state and its waiting line, and how each queue event changes them (pure folds).

A queue is an aggregate of its own. Its stream id is the queue id (queues created before the
queue service existed already have such streams); its first event is QueueCreated. Two folds:
`evolve` gives the queue's descriptive state (its row in `queues`, which doubles as the
stream's head), `line` gives its entries in order (its rows in `queue_entries`). The order is
kept as a `rank` per entry: a task that enters gets the largest waiting rank plus one, a move
renumbers the whole line 1..n. Both the live projector and a replay apply exactly these rules,
so `projections verify` finds the same ranks whichever path wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, structs

from tasktrack.domain import events as ev

DEFAULT_TAG = "default"  # ClearML's system tag of a company's default queue
DEFAULT_NAME = "default"
HIDDEN_TAGS = ("k8s-glue",)  # left out of get_all unless asked for (ClearML's default)
LOCK_PREFIX = "queue:"
NAME_LOCK_PREFIX = "queue-name:"


def lock_of(queue_id: str) -> str:
    """The lock name of a queue's stream. Locks of queue streams are taken after every other
    lock of a command (store/eventlog.py ranks them), so they carry their kind in the name."""
    return f"{LOCK_PREFIX}{queue_id}"


def name_lock(company: str, name: str) -> str:
    """The lock that makes a company's queue names unique (create, rename, enqueue by name)."""
    return f"{NAME_LOCK_PREFIX}{company}:{name}"


class QueueState(msgspec.Struct, frozen=True, kw_only=True):
    """ClearML's queue object without its entries (those are `line`'s)."""

    id: str
    company: str
    user: str
    name: str
    created: datetime
    last_update: datetime
    display_name: str | None = None
    tags: list[str] = []
    system_tags: list[str] = []
    metadata: list[ev.MetadataItem] = []
    deleted: bool = False


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """A task waiting in a queue: since when, and its place (lower ranks go first)."""

    task: str
    added: datetime
    rank: int


def _created(e: ev.QueueCreated) -> QueueState:
    return QueueState(
        id=e.queue_id,
        company=e.company,
        user=e.by,
        name=e.name,
        created=e.at,
        last_update=e.at,
        display_name=e.display_name,
        tags=sorted(set(e.tags)),
        system_tags=sorted(set(e.system_tags)),
        metadata=e.metadata,
    )


def _updated(s: QueueState, e: ev.QueueUpdated) -> QueueState:
    changed = {
        f: getattr(e.changes, f)
        for f in e.changes.__struct_fields__
        if getattr(e.changes, f) is not UNSET
    }
    for tags in ("tags", "system_tags"):
        if tags in changed:
            changed[tags] = sorted(set(changed[tags]))
    return structs.replace(s, **changed, last_update=e.at)


def _metadata(s: QueueState, e: ev.QueueMetadataChanged) -> QueueState:
    kept = [] if e.replace else s.metadata
    gone = set(e.deleted) | {m.key for m in e.upserted}
    items = [m for m in kept if m.key not in gone] + list(e.upserted)
    return structs.replace(s, metadata=items, last_update=e.at)


FOLDS: dict[type[ev.Event], Callable[[QueueState, Any], QueueState]] = {
    ev.QueueUpdated: _updated,
    ev.QueueMetadataChanged: _metadata,
    ev.QueueDeleted: lambda s, e: structs.replace(s, deleted=True),
    # A change of the line is a change of the queue (ClearML moves its last_update too).
    ev.QueueTaskAdded: lambda s, e: structs.replace(s, last_update=e.at),
    ev.QueueTaskRemoved: lambda s, e: structs.replace(s, last_update=e.at),
    ev.QueueTaskMoved: lambda s, e: structs.replace(s, last_update=e.at),
    ev.QueueTaskHandedOut: lambda s, e: structs.replace(s, last_update=e.at),
}


def evolve(state: QueueState | None, event: ev.AnyEvent) -> QueueState:
    """The queue's state after `event`: a pure fold (no clock, no I/O)."""
    if isinstance(event, ev.QueueCreated):
        if state is not None:
            raise ValueError(f"queue {event.queue_id} created twice")
        return _created(event)
    if state is None:
        raise ValueError(f"{type(event).__name__} before QueueCreated")
    return FOLDS[type(event)](state, event)


# --- the waiting line ------------------------------------------------------------------------


def next_rank(entries: Iterable[Entry]) -> int:
    """The rank of a task entering at the end: one more than the largest waiting (1 if none)."""
    return max((e.rank for e in entries), default=0) + 1


def moved(entries: list[Entry], task: str, position: int) -> list[Entry]:
    """The line with `task` at `position` (clamped to the line), renumbered 1..n."""
    order = sorted(entries, key=lambda e: e.rank)
    entry = next(e for e in order if e.task == task)
    rest = [e for e in order if e.task != task]
    place = min(max(position, 0), len(rest))
    rest.insert(place, entry)
    return [structs.replace(e, rank=i) for i, e in enumerate(rest, start=1)]


def line(entries: list[Entry], event: ev.AnyEvent) -> list[Entry]:
    """The queue's entries after `event` (ordered by rank)."""
    match event:
        case ev.QueueTaskAdded():
            new = Entry(task=event.task, added=event.at, rank=next_rank(entries))
            return [*entries, new]
        case ev.QueueTaskRemoved() | ev.QueueTaskHandedOut():
            return [e for e in entries if e.task != event.task]
        case ev.QueueTaskMoved():
            return moved(entries, event.task, event.position)
        case ev.QueueDeleted():
            return []
        case _:
            return entries


# The queue events that change its line (a replay keeps only these of a queue's stream).
LINE_EVENTS = (
    ev.QueueTaskAdded,
    ev.QueueTaskRemoved,
    ev.QueueTaskHandedOut,
    ev.QueueTaskMoved,
    ev.QueueDeleted,
)


def line_with_handouts(
    changes: Iterable[tuple[int, ev.AnyEvent]], handouts: Iterable[tuple[int, str, datetime]]
) -> list[Entry]:
    """The line after a queue's line events (with their stream versions) and the handouts
    from it on its tasks' streams (the queue version each followed, the task, when it had
    entered): a handout that followed version v is applied after the queue's events up to v
    and before the next. Handouts after one version are concurrent with each other and only
    take entries out, so their order among themselves does not matter. A handout ends the
    stay it names (`entered`); one met before that stay began (a queue version read behind
    the entry it took, as a sharded cluster's commit can show) ends it when it begins."""
    pending = sorted(handouts, key=lambda h: (h[0], h[1]))
    entries: list[Entry] = []
    early: set[tuple[str, datetime]] = set()

    def take(done: list[tuple[int, str, datetime]]) -> list[Entry]:
        waiting = {(e.task, e.added) for e in entries}
        gone = {(task, entered) for _, task, entered in done}
        early.update(gone - waiting)
        return [e for e in entries if (e.task, e.added) not in gone]

    i = 0
    for version, event in changes:
        j = i
        while j < len(pending) and pending[j][0] < version:
            j += 1
        if j > i:
            entries = take(pending[i:j])
            i = j
        entries = line(entries, event)
        if isinstance(event, ev.QueueTaskAdded) and (event.task, event.at) in early:
            early.discard((event.task, event.at))
            entries = [e for e in entries if e.task != event.task]
    return take(pending[i:])


def position_after(entries: list[Entry], task: str, move: int | str) -> int:
    """Where a move puts the task: "first", "last", or `move` places later (negative:
    earlier), clamped to the line (ClearML's reposition)."""
    order = [e.task for e in sorted(entries, key=lambda e: e.rank)]
    here = order.index(task)
    if move == "first":
        return 0
    if move == "last":
        return len(order) - 1
    assert isinstance(move, int)
    return min(max(here + move, 0), len(order) - 1)
