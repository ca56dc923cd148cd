"""Keeping queues' waiting lines in step with their tasks, in the command's one transaction.

A task waits in a queue when the queue's stream says so (QueueTaskAdded, not yet removed or
handed out). Only a queued task waits anywhere: every task command whose events take the task
out of `queued` (dequeue, stop, reset, archive, started, a forced status, delete) or into
another queue (enqueue) appends the matching QueueTaskRemoved / QueueTaskAdded to the queues'
streams in the same transaction as the task's own events.

Locking (store/eventlog.py has the order): a command locks its tasks first; which queues a
task waits in then no longer changes (every command that takes a task out of a line holds the
task's lock, get_next_task included), so the queues read after the task's lock are all it may
have to leave; they and the queue the command puts the task in are locked together, in a
second call, before any write.

Handouts (`claim`) lock the other way round, the queue first, and that is safe because they
take it SHARED and then never wait: a task's lock is only tried, and a task whose lock is
held is skipped (as SKIP LOCKED skips a locked row). Every command that appends to a queue's
stream (enqueue, remove, move, clear, delete, update) takes the queue's lock EXCLUSIVE, so it
waits for the handouts in flight and they for it: a handout never sees a line being
reordered or added to, and the queue's stream version it records places it exactly among
the queue's own events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import psycopg
from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import queues
from tasktrack.domain.context import Context
from tasktrack.domain.errors import QueueNotFound
from tasktrack.domain.queues import Entry, QueueState
from tasktrack.domain.state import TaskState
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import eventlog, queuerows

C = TypeVar("C", bound=cmd.Command)


Found = tuple[str | None, str | None]  # an enqueue's queue id (None: to be made), its name
_TAG = queues.DEFAULT_TAG
# A handout's candidates per read: more than the agents that claim at once, so that one page
# nearly always holds a task nobody is claiming.
CANDIDATES = 16
FIRST_RANK = -(2**63)


class LinesMoved(RuntimeError):
    """A queue's line changed between reading it unlocked and locking it: run the command
    again (service/core.py retries it), now that the new line is committed."""


class Lines:
    """The queues a command may touch: locked, loaded, and which tasks wait in them."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.company = uow.metadata.company
        self.members: dict[str, list[str]] = {}
        self.queues: dict[str, QueueState] = {}
        self.known: set[str] = set()  # tasks whose queues were read after their lock
        self.found: Found = (None, None)
        self._sent: list[tuple[str, psycopg.Cursor[Any]]] = []

    def send(self, conn: psycopg.Connection[Any], tasks: list[str], c: cmd.Command) -> None:
        """Reads to send right behind a task command's locks (UnitOfWork.open's `then`, opened
        with `queues=True`, which reads the queues its tasks wait in with their rows): the
        queue an enqueue names; `received` reads them."""
        self._sent = []
        self.known |= set(tasks)
        if not isinstance(c, cmd.EnqueueTask):
            return
        if c.queue is not UNSET:
            self.found = (c.queue, None)
            return
        if c.queue_name is UNSET:
            self._sent.append(("tagged", queuerows.send_tagged(conn, self.company, _TAG)))
        name = queues.DEFAULT_NAME if c.queue_name is UNSET else c.queue_name
        self._sent.append(("named", queuerows.send_named(conn, self.company, name)))

    def received(self, c: cmd.Command) -> None:
        got = {kind: cursor for kind, cursor in self._sent}
        self.members.update(self.uow.waits_in)
        if "named" not in got:
            return
        tagged = queuerows.ids(got["tagged"]) if "tagged" in got else []
        named = queuerows.ids(got["named"])
        assert isinstance(c, cmd.EnqueueTask)
        name = queues.DEFAULT_NAME if c.queue_name is UNSET else c.queue_name
        self.found = (tagged[0], None) if tagged else (named[0] if named else None, name)

    def lock(self, tasks: Iterable[str], extra: Iterable[str] = ()) -> None:
        """Lock the queues these (already locked) tasks wait in, and `extra` queues, in one
        call, and load them. Only a queued task waits anywhere, so others cost nothing; the
        rest is one round trip (two when the tasks' queues were not read with their lock)."""
        uow = self.uow
        queued = [t for t in tasks if (s := uow.states.get(t)) and s.status == "queued"]
        wanted = set(extra)
        unknown = [t for t in queued if t not in self.known]
        if unknown:
            self.members.update(queuerows.memberships(uow.conn, self.company, unknown))
        wanted |= {q for t in queued for q in self.members.get(t, [])}
        names = {queues.lock_of(q) for q in wanted} - uow.locked
        if not wanted:
            return
        # Pipelined: the locks, then (read after them) the tasks' queues again, since a
        # get_next_task may have taken one out before our lock, and the queues' rows.
        locking = eventlog.send_lock_and_see(uow.conn, names, [])
        again = queuerows.send_memberships(uow.conn, self.company, queued) if queued else None
        rows = queuerows.send_load(uow.conn, self.company, wanted)
        eventlog.seen(locking)
        uow.locked |= names
        if again is not None:
            self.members.update({t: [] for t in queued} | queuerows.members(again))
        self._remember(queuerows.loaded(rows))

    def claim(self, queue_id: str, only: str | None = None) -> Entry | None:
        """A handout's claim: the queue locked SHARED and loaded, then the first waiting
        entry whose task's lock could be taken without waiting (locked, then read again),
        None when the line is empty or every waiting task is being claimed or changed by
        someone else (as a SKIP LOCKED queue answers). `only`: that task, if it is first.

        Why it is exactly once: an entry leaves the line only under its task's lock (a
        handout, a task command) or the queue's exclusive lock (which our shared one
        excludes), and an entry is re-read after its task's lock is granted, in a statement
        whose snapshot follows the grant; a task handed out by another agent meanwhile is
        no longer there (its commit was visible before its locks were released)."""
        uow = self.uow
        name = queues.lock_of(queue_id)
        locking = eventlog.send_lock_shared(uow.conn, name)
        first = queuerows.send_load_with_line(uow.conn, self.company, queue_id, CANDIDATES)
        eventlog.seen_shared(locking)
        rows, line = queuerows.loaded_with_line(first)
        self._remember(rows)
        if queue_id not in self.queues:
            return None
        tried: set[str] = set()
        while line:
            if only is not None and line[0].task != only:
                return None
            fresh = [e for e in line if e.task not in tried][: 1 if only else None]
            got = eventlog.try_first(uow.conn, [e.task for e in fresh])
            if got is None:
                if len(line) < CANDIDATES or only is not None:
                    return None  # every waiting task is held by another transaction
                # A page of busy tasks: the next page (a line longer than the agents).
                page = queuerows.send_line_after(
                    uow.conn, self.company, queue_id, line[-1].rank, CANDIDATES
                )
                line = queuerows.line_of(page)
                continue
            task = fresh[got].task
            tried.add(task)
            uow.locked.add(task)
            waiting = uow.load_waiting(task, queue_id)
            if waiting is not None:
                return Entry(task=task, added=waiting[0], rank=waiting[1])
            # Handed out (or removed) between our read of the line and our lock: read the
            # line again (a new snapshot) and try the others.
            page = queuerows.send_line_after(
                uow.conn, self.company, queue_id, FIRST_RANK, CANDIDATES
            )
            line = queuerows.line_of(page)
        return None

    def _remember(self, rows: dict[str, queuerows.QueueRow]) -> None:
        """The rows of locked queues: their state, and their stream heads for the appends."""
        for queue_id, row in rows.items():
            self.queues[queue_id] = row.state
            self.uow.heads[queue_id] = row.head
            self.uow.head_times[queue_id] = row.head_at

    def require(self, queue_id: str) -> QueueState:
        state = self.queues.get(queue_id)
        if state is None:
            raise QueueNotFound(f"Invalid queue id: id={queue_id}", id=queue_id)
        return state

    def append(self, queue_id: str, events: list[ev.AnyEvent], ctx: Context) -> None:
        self.uow.append(queue_id, events, ctx.now)

    def remove(self, task_id: str, queue_id: str, ctx: Context, reason: str) -> None:
        """The task leaves this queue (not handed out)."""
        event = ev.QueueTaskRemoved(at=ctx.now, by=ctx.user, task=task_id, reason=reason)
        self.append(queue_id, [event], ctx)
        self.members[task_id] = [q for q in self.members.get(task_id, []) if q != queue_id]

    def add(self, task_id: str, queue_id: str, ctx: Context) -> None:
        self.append(queue_id, [ev.QueueTaskAdded(at=ctx.now, by=ctx.user, task=task_id)], ctx)
        self.members[task_id] = [*self.members.get(task_id, []), queue_id]

    def follow(
        self, task_id: str, before: TaskState, events: list[ev.AnyEvent], ctx: Context
    ) -> int:
        """Append what the task's events mean for the queues; returns how many it left."""
        status = before.status
        entered: str | None = None
        gone = False
        for event in events:
            change = ev.status_change(event)
            if change is not None:
                status = change.to_status
            if isinstance(event, ev.TaskEnqueued):
                entered = event.queue
            gone = gone or isinstance(event, ev.TaskDeleted)
        waiting = self.members.get(task_id, [])
        leave = waiting if (gone or status != "queued" or entered) else []
        left = 0
        for queue_id in [q for q in leave if q != entered]:
            reason = "task deleted" if gone else _reason(status, entered)
            self.remove(task_id, queue_id, ctx, reason)
            left += 1
        if entered is not None and entered not in waiting and not gone:
            self.add(task_id, entered, ctx)
        return left


def _reason(status: str, entered: str | None) -> str:
    return f"moved to queue {entered}" if entered else f"task is {status}"


# --- tasks.enqueue's queue --------------------------------------------------------------------


def target(uow: UnitOfWork, c: cmd.Command) -> Found:
    """The queue an enqueue names: (its id, or None when it is to be created, and the name
    it is to be created with). Read under the name's lock, which the command took."""
    if not isinstance(c, cmd.EnqueueTask | cmd.EnqueueTasks):
        return None, None
    if c.queue is not UNSET:
        return c.queue, None
    company = uow.metadata.company
    if c.queue_name is UNSET:
        tagged = queuerows.tagged(uow.conn, company, queues.DEFAULT_TAG)
        if tagged:
            return tagged[0], None
        name = queues.DEFAULT_NAME
    else:
        name = c.queue_name
    return queuerows.named(uow.conn, company, name), name


def resolve(lines: Lines, c: C, found: Found, new_id: str) -> tuple[C, str | None]:
    """An enqueue with its queue id; a queue named for the first time is created here (after
    every lock, as any write). Returns the command and the id it now names."""
    if not isinstance(c, cmd.EnqueueTask):
        return c, None
    queue_id, name = found
    if queue_id is not None and queue_id not in lines.queues and name is not None:
        # The queue of that name was deleted after the name was read: its name is free now.
        raise LinesMoved(f"queue {queue_id} ({name}) was deleted meanwhile")
    if queue_id is not None:
        lines.require(queue_id)
        return structs.replace(c, queue=queue_id, queue_name=UNSET), queue_id
    assert name is not None
    uow = lines.uow
    if new_id not in uow.heads:  # not created yet (or its creation rolled back with a part)
        now = uow.now([])
        created = ev.QueueCreated(
            at=now,
            by=uow.metadata.user,
            queue_id=new_id,
            company=uow.metadata.company,
            name=name,
            system_tags=[queues.DEFAULT_TAG] if c.queue_name is UNSET else [],
        )
        uow.append(new_id, [created], now)
    return structs.replace(c, queue=new_id, queue_name=UNSET), new_id
