"""The queues service's handlers: lock, load, decide, append to the queue's stream (and its
tasks' streams), project. ClearML's answers and error codes (apierrors 701-708).

Lock order (store/eventlog.py): a command's tasks before its queues. get_next_task takes its
queue's lock SHARED, then tries the lock of a waiting task (skipping tasks held by others):
claiming the entry, appending TaskHandedOut to the task's stream and deleting the entry happen
in one transaction, so two pollers never get the same task, and a handout is either committed
with the task's leaving the queue or not at all (a crash in between leaves the task in line).
service/queue_lines.py explains why the shared lock and the try-lock cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import lifecycle, queues
from tasktrack.domain import queue_commands as qc
from tasktrack.domain.context import Context
from tasktrack.domain.errors import DataRuleViolation, ExpectedUniqueData, TaskNotFound
from tasktrack.domain.queue_errors import (
    MultipleDefaultQueues,
    QueueNotEmpty,
    TaskAlreadyQueued,
    TaskNotInQueue,
)
from tasktrack.domain.queues import Entry, QueueState
from tasktrack.domain.state import TaskState
from tasktrack.service.handlers import new_id
from tasktrack.service.queue_lines import Lines, LinesMoved
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import queuerows


def _ctx(uow: UnitOfWork, streams: list[str]) -> Context:
    m = uow.metadata
    return Context(now=uow.now(streams), user=m.user, company=m.company)


def _metadata(items: qc.Metadata) -> list[ev.MetadataItem]:
    if isinstance(items, dict):
        return [
            ev.MetadataItem(key=item.key or key, type=item.type, value=item.value)
            for key, item in items.items()
        ]
    return list(items)


def _name(name: str) -> str:
    name = name.strip()
    if len(name) < 3:
        raise DataRuleViolation("Queue name must be at least 3 characters long", name=name)
    return name


def _queue(uow: UnitOfWork, queue_id: str) -> tuple[Lines, QueueState]:
    """Lock and load one queue (its lock only)."""
    lines = Lines(uow)
    lines.lock([], [queue_id])
    return lines, lines.require(queue_id)


def _task(uow: UnitOfWork, task_id: str) -> TaskState:
    state = uow.states.get(task_id)
    if state is None or not state.visible_to(uow.metadata.company):
        raise TaskNotFound(task_id)
    return state


def _line(uow: UnitOfWork, queue_id: str) -> list[Entry]:
    return queuerows.entries(uow.conn, uow.metadata.company, queue_id)


def on_create(uow: UnitOfWork, c: qc.CreateQueue) -> Result:
    name = _name(c.name)
    queue_id = new_id()
    uow.lock([queues.name_lock(uow.metadata.company, name)])
    if queuerows.named(uow.conn, uow.metadata.company, name) is not None:
        raise ExpectedUniqueData(f"Queue name already exists: name={name}", name=name)
    ctx = _ctx(uow, [])
    created = ev.QueueCreated(
        at=ctx.now,
        by=ctx.user,
        queue_id=queue_id,
        company=ctx.company,
        name=name,
        display_name=c.display_name,
        tags=list(c.tags),
        system_tags=list(c.system_tags),
        metadata=_metadata(c.metadata),
    )
    uow.append(queue_id, [created], ctx.now)
    uow.project()
    return {"id": queue_id}


def on_get_default(uow: UnitOfWork, c: qc.GetDefaultQueue) -> Result:
    """The queue tagged `default`; if none, the queue named "default" gets the tag (it is
    made if missing): ClearML's server makes that queue when it starts."""
    company = uow.metadata.company
    uow.lock([queues.name_lock(company, queues.DEFAULT_NAME)])
    tagged = queuerows.tagged(uow.conn, company, queues.DEFAULT_TAG)
    if len(tagged) > 1:
        raise MultipleDefaultQueues(
            "More than one queue is tagged as the default queue", queues=tagged
        )
    if tagged:
        state = queuerows.load(uow.conn, company, tagged)[tagged[0]].state
        return {"id": state.id, "name": state.name}
    named = queuerows.named(uow.conn, company, queues.DEFAULT_NAME)
    if named is None:
        return on_create(uow, qc.CreateQueue(name=queues.DEFAULT_NAME, system_tags=["default"]))
    lines, state = _queue(uow, named)
    ctx = _ctx(uow, [named])
    changes = ev.QueueChanges(system_tags=[*state.system_tags, queues.DEFAULT_TAG])
    lines.append(named, [ev.QueueUpdated(at=ctx.now, by=ctx.user, changes=changes)], ctx)
    uow.project()
    return {"id": named, "name": state.name}


def on_update(uow: UnitOfWork, c: qc.UpdateQueue) -> Result:
    name = _name(c.name) if c.name is not UNSET else None
    company = uow.metadata.company
    if name is not None:
        uow.lock([queues.name_lock(company, name)])
    lines, state = _queue(uow, c.queue)
    if name is not None and name != state.name and queuerows.named(uow.conn, company, name):
        raise ExpectedUniqueData(f"Queue name already exists: name={name}", name=name)
    changes = ev.QueueChanges(
        name=name if name is not None else UNSET,
        display_name=c.display_name,
        tags=sorted(set(c.tags)) if c.tags is not UNSET else UNSET,
        system_tags=sorted(set(c.system_tags)) if c.system_tags is not UNSET else UNSET,
    )
    ctx = _ctx(uow, [c.queue])
    events: list[ev.AnyEvent] = []
    fields = {
        f: getattr(changes, f)
        for f in changes.__struct_fields__
        if getattr(changes, f) is not UNSET
    }
    if fields:
        events.append(ev.QueueUpdated(at=ctx.now, by=ctx.user, changes=changes))
    if c.metadata is not UNSET:
        items = _metadata(c.metadata)
        changed = ev.QueueMetadataChanged(at=ctx.now, by=ctx.user, upserted=items, replace=True)
        events.append(changed)
        fields["metadata"] = {m.key: _item(m) for m in items}
    lines.append(c.queue, events, ctx)
    uow.project()
    return {"updated": 1 if events else 0, "fields": fields}


def _item(m: ev.MetadataItem) -> dict[str, Any]:
    return {"key": m.key, "type": m.type, "value": m.value}


def _lock_waiting(uow: UnitOfWork, queue_id: str) -> tuple[Lines, QueueState, list[Entry]]:
    """Lock a queue with every task waiting in it (tasks first: store/eventlog.py's order).
    The line is read unlocked to know which tasks; if a task entered before the queue's lock
    was granted, the command runs again (LinesMoved)."""
    peeked = {e.task for e in _line(uow, queue_id)}
    uow.lock(sorted(peeked))
    uow.load(sorted(peeked))
    lines = Lines(uow)
    lines.lock(peeked, [queue_id])
    state = lines.require(queue_id)
    line = _line(uow, queue_id)
    if {e.task for e in line} - peeked:
        raise LinesMoved(f"queue {queue_id} changed while being locked")
    return lines, state, line


def _send_back(lines: Lines, task_id: str, queue_id: str, ctx: Context, reason: str) -> bool:
    """A task taken out of its queue goes back to the status it was enqueued from (ClearML's
    rule, for a task whose execution.queue is this queue); then it leaves any other queue."""
    state = lines.uow.states.get(task_id)
    if state is None or state.deleted or state.status != "queued" or state.queue != queue_id:
        return False
    event = lifecycle.leave_queue(state, ctx, new_status=None, reason=reason, message="")
    lines.uow.append(task_id, [event], ctx.now)
    lines.follow(task_id, state, [event], ctx)
    return True


def _empty(uow: UnitOfWork, queue_id: str, reason: str) -> tuple[Lines, QueueState, list[str]]:
    """Every waiting task leaves the queue, those it was enqueued to going back."""
    lines, state, line = _lock_waiting(uow, queue_id)
    ctx = _ctx(uow, [queue_id, *(e.task for e in line)])
    sent_back = []
    for entry in line:
        lines.remove(entry.task, queue_id, ctx, reason)
        if _send_back(lines, entry.task, queue_id, ctx, reason):
            sent_back.append(entry.task)
    return lines, state, sent_back


def on_delete(uow: UnitOfWork, c: qc.DeleteQueue) -> Result:
    if not c.force:
        _, _ = _queue(uow, c.queue)
        if queuerows.first(uow.conn, uow.metadata.company, c.queue) is not None:
            raise QueueNotEmpty("Queue is not empty, use force=true to delete", id=c.queue)
    else:
        _empty(uow, c.queue, f"Queue {c.queue} was deleted")
    ctx = _ctx(uow, [c.queue])
    uow.append(c.queue, [ev.QueueDeleted(at=ctx.now, by=ctx.user)], ctx.now)
    uow.project()
    return {"deleted": 1}


def on_clear(uow: UnitOfWork, c: qc.ClearQueue) -> Result:
    _, _, sent_back = _empty(uow, c.queue, f"Queue {c.queue} was cleared")
    uow.project()
    return {"removed_tasks": sent_back}


def _task_and_queue(uow: UnitOfWork, task_id: str, queue_id: str) -> tuple[Lines, TaskState]:
    uow.lock([task_id])
    uow.load([task_id])
    lines = Lines(uow)
    lines.lock([task_id], [queue_id])
    lines.require(queue_id)
    return lines, _task(uow, task_id)


def on_add_task(uow: UnitOfWork, c: qc.AddTaskToQueue) -> Result:
    """Into the queue; a task that is not queued yet is enqueued to it (a task waiting in a
    queue is always queued, which ClearML does not enforce)."""
    lines, task = _task_and_queue(uow, c.task, c.queue)
    if c.queue in lines.members.get(c.task, []):
        raise TaskAlreadyQueued(f"Task already in queue: task={c.task}", task=c.task)
    ctx = _ctx(uow, [c.queue, c.task])
    if task.status != "queued" or (c.update_execution_queue and task.queue != c.queue):
        enqueue = lifecycle.enqueue(task, cmd.EnqueueTask(task=c.task, queue=c.queue), ctx)
        uow.append(c.task, enqueue, ctx.now)
        lines.follow(c.task, task, enqueue, ctx)
    else:
        lines.add(c.task, c.queue, ctx)
    uow.project()
    return {"added": 1}


def on_remove_task(uow: UnitOfWork, c: qc.RemoveTaskFromQueue) -> Result:
    uow.lock([c.task])
    uow.load([c.task])
    lines = Lines(uow)
    lines.lock([c.task], [c.queue])
    if c.queue not in lines.queues or c.queue not in lines.members.get(c.task, []):
        raise TaskNotInQueue(
            f"Invalid queue id or task not in queue: task={c.task}, queue={c.queue}",
            task=c.task,
            queue=c.queue,
        )
    ctx = _ctx(uow, [c.queue, c.task])
    lines.remove(c.task, c.queue, ctx, "removed from the queue")
    if c.update_task_status:
        _send_back(lines, c.task, c.queue, ctx, f"Task was removed from the queue {c.queue}")
    uow.project()
    return {"removed": 1}


def _move(uow: UnitOfWork, c: qc.OnQueuedTask, move: int | str) -> Result:
    _queue(uow, c.queue)
    line = _line(uow, c.queue)
    if c.task not in {e.task for e in line}:
        raise TaskNotInQueue(
            f"Invalid queue id or task not in queue: task={c.task}, queue={c.queue}",
            task=c.task,
            queue=c.queue,
        )
    here = [e.task for e in line].index(c.task)
    position = queues.position_after(line, c.task, move)
    if position != here:
        ctx = _ctx(uow, [c.queue])
        event = ev.QueueTaskMoved(at=ctx.now, by=ctx.user, task=c.task, position=position)
        uow.append(c.queue, [event], ctx.now)
        uow.project()
    return {"position": position}


def on_next(uow: UnitOfWork, c: qc.GetNextTask) -> Result:
    """Hand out the first task in line that nobody else is claiming: TaskHandedOut on the
    task's stream (its leaving the line) is this command's one event. Concurrent handouts
    from one queue lock different tasks and run side by side (Lines.claim says why that is
    exactly once)."""
    lines = Lines(uow)
    claimed = lines.claim(c.queue, c.task)
    state = lines.require(c.queue)
    if claimed is None:
        return {}
    ctx = _ctx(uow, [c.queue, claimed.task])
    event = ev.TaskHandedOut(
        at=ctx.now,
        by=ctx.user,
        queue=state.id,
        queue_version=uow.heads[c.queue].version,
        entered=claimed.added,
    )
    uow.append(claimed.task, [event], ctx.now)
    uow.project()
    result: Result = {"entry": {"task": claimed.task, "added": claimed.added}}
    if c.get_task_info:
        task = uow.states.get(claimed.task)
        if task is not None:
            result["task_info"] = {"company": task.company, "user": task.user}
    return result


def on_metadata(uow: UnitOfWork, c: qc.AddOrUpdateQueueMetadata | qc.DeleteQueueMetadata) -> Result:
    lines, _ = _queue(uow, c.queue)
    ctx = _ctx(uow, [c.queue])
    if isinstance(c, qc.AddOrUpdateQueueMetadata):
        event = ev.QueueMetadataChanged(
            at=ctx.now, by=ctx.user, upserted=_metadata(c.metadata), replace=c.replace_metadata
        )
    else:
        event = ev.QueueMetadataChanged(at=ctx.now, by=ctx.user, deleted=list(c.keys))
    lines.append(c.queue, [event], ctx)
    uow.project()
    return {"updated": 1}


HANDLERS: dict[type[Any], Callable[[UnitOfWork, Any], Result]] = {
    qc.CreateQueue: on_create,
    qc.GetDefaultQueue: on_get_default,
    qc.UpdateQueue: on_update,
    qc.DeleteQueue: on_delete,
    qc.ClearQueue: on_clear,
    qc.AddTaskToQueue: on_add_task,
    qc.RemoveTaskFromQueue: on_remove_task,
    qc.MoveTaskForward: lambda uow, c: _move(uow, c, -c.count),
    qc.MoveTaskBackward: lambda uow, c: _move(uow, c, c.count),
    qc.MoveTaskToFront: lambda uow, c: _move(uow, c, "first"),
    qc.MoveTaskToBack: lambda uow, c: _move(uow, c, "last"),
    qc.GetNextTask: on_next,
    qc.AddOrUpdateQueueMetadata: on_metadata,
    qc.DeleteQueueMetadata: on_metadata,
}
