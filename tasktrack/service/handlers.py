"""Command handlers: lock, load, decide, append, project. One small function per kind of command.

Every handler takes all the stream locks it needs before its first write (see
store/eventlog.py); reads are fresh because they happen after the locks.
"""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import editing, lifecycle, placement, queues
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.decide import decide
from tasktrack.domain.errors import (
    DomainError,
    InvalidRequest,
    StatusChangedConcurrently,
    TaskNotFound,
)
from tasktrack.domain.projects import Writes
from tasktrack.domain.state import DELETED_PARENT_PREFIX, TaskState
from tasktrack.service import queue_lines, results, task_models
from tasktrack.service.queue_lines import Lines
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import commandreads, eventlog, workerrows


def new_id() -> str:
    return uuid.uuid4().hex


def _context(uow: UnitOfWork, streams: list[str]) -> Context:
    meta = uow.metadata
    return Context(now=uow.now(streams), user=meta.user, company=meta.company)


def _is_visible(uow: UnitOfWork, task_id: str) -> bool:
    state = uow.states.get(task_id)
    return state is not None and state.visible_to(uow.metadata.company)


def _visible(uow: UnitOfWork, task_id: str) -> TaskState:
    state = uow.states.get(task_id)
    if state is None or not state.visible_to(uow.metadata.company):
        raise TaskNotFound(task_id)
    return state


def _compare_and_set(
    c: cmd.Command, task_id: str, state: TaskState | None, seen: str | None
) -> None:
    """ClearML checks a status change against the status the request saw: if another change
    landed in between (while this command waited for the task's lock), the loser gets 400/121
    rather than a decision against a state it never saw."""
    if state is None or seen is None or seen == state.status:
        return
    if c.compare_and_set or (isinstance(c, cmd.EditTask) and c.status is not UNSET):
        raise StatusChangedConcurrently(
            f"Failed changing task status, probably someone changed it before you: "
            f"task={task_id}, expected status={seen}, current status={state.status}",
            task=task_id,
        )


def apply_to_task(
    uow: UnitOfWork, c: cmd.OnTask, task_id: str, seen: str | None, lines: Lines | None = None
) -> results.Result:
    """Decide and write one command on one locked, loaded task (and, with `lines`, what its
    events mean for the queues it waits in or enters)."""
    state = uow.states.get(task_id)
    ctx = _context(uow, [task_id])
    if isinstance(c, cmd.StopTask) and state is not None and state.last_worker:
        live = workerrows.reports_task(uow.conn, ctx.company, state.last_worker, task_id, ctx.now)
        ctx = structs.replace(ctx, worker_reporting=live)
    if state is not None and state.visible_to(ctx.company):
        eventlog.check_expected(task_id, c.expected_version, state.version)
        _compare_and_set(c, task_id, state, seen)
    events = decide(state, c, ctx)
    assert state is not None  # decide refuses a missing task
    extra: dict[str, Any] = {}
    if isinstance(c, cmd.DeleteTask | cmd.ResetTask):
        published = commandreads.published_children(uow.conn, uow.metadata.company, task_id)
        lifecycle.check_children(state, published, c.force)
    if any(isinstance(e, ev.TaskDeleted) for e in events):
        extra["updated_children"] = _orphan_children(uow, task_id, ctx)
    extra.update(task_models.follow(uow, c, state, events, ctx))
    uow.append(task_id, events, ctx.now)
    left = lines.follow(task_id, state, events, ctx) if lines is not None else 0
    uow.project()
    result = results.single(c, state, uow.states[task_id], events)
    if isinstance(c, cmd.DeleteTask):
        result = {"deleted": True, "events": {}, **extra}
    elif isinstance(c, cmd.ResetTask):
        result = {**result, **extra, "dequeued": {"removed": left}}
    return result


def _children(uow: UnitOfWork, ids: list[str]) -> list[str]:
    return commandreads.children(uow.conn, uow.metadata.company, ids)


def _orphan_children(uow: UnitOfWork, task_id: str, ctx: Context) -> int:
    """Children of a deleted task point at `__DELETED__<id>` (their streams say so too)."""
    children = _children(uow, [task_id])
    if not children:
        return 0
    # Locked already by delete_many; for a single delete no write has happened yet.
    uow.lock(children)
    uow.load([c for c in children if c not in uow.states])
    for child in children:
        uow.append(child, [ev.TaskParentDeleted(at=ctx.now, by=ctx.user, parent=task_id)], ctx.now)
    return len(children)


def on_task(uow: UnitOfWork, c: cmd.TaskCommand | cmd.EditTask) -> results.Result:
    """The common path: a command on one existing task (its `task` field)."""
    task_id = c.task
    lines = Lines(uow)
    opened = uow.open(
        [task_id],
        extra_locks=queue_locks(uow, c),
        then=lambda conn: lines.send(conn, [task_id], c),
        queues=True,
    )
    seen = opened.get(task_id)
    lines.received(c)
    if isinstance(c, cmd.PingTask) and not _is_visible(uow, task_id):
        return {}  # ClearML ignores pings of unknown tasks (another company's look the same)
    # Lock order: tasks (opened above), then their models, then queues (last, always).
    uow.lock(task_models.streams(uow, [c]))
    found = lines.found
    lines.lock([task_id], [found[0]] if found[0] else [])
    c, _ = queue_lines.resolve(lines, c, found, new_id())
    return apply_to_task(uow, c, task_id, seen, lines)


def queue_locks(uow: UnitOfWork, c: cmd.Command) -> list[str]:
    """A queue named for the first time is created: lock its name with the task."""
    if not isinstance(c, cmd.EnqueueTask | cmd.EnqueueTasks):
        return []
    if c.queue is not UNSET and c.queue_name is not UNSET:
        raise InvalidRequest(
            "Validation error: queue and queue_name are mutually exclusive", field="queue_name"
        )
    if c.queue is not UNSET:
        return []
    name = c.queue_name if c.queue_name is not UNSET else queues.DEFAULT_NAME
    return [queues.name_lock(uow.metadata.company, name)]


def on_create(uow: UnitOfWork, c: cmd.CreateTask) -> results.Result:
    task_id = new_id()
    parent = c.parent if isinstance(c.parent, str) else None
    if parent and parent.startswith(DELETED_PARENT_PREFIX):
        parent = None  # names a deleted parent, as a child of it reads (ClearML skips it too)
    uow.lock([task_id, *([parent] if parent else [])])
    if parent:
        uow.load([parent])
        _visible(uow, parent)
    ctx = _context(uow, [])
    if isinstance(c, cmd.ValidateTask):
        editing.validate(c, ctx)
        return {}
    uow.append(task_id, editing.create(c, ctx, task_id), ctx.now)
    uow.project()
    return {"id": task_id}


def on_clone(
    uow: UnitOfWork, c: cmd.CloneTask, project_writes: Writes | None = None
) -> results.Result:
    """`project_writes` create the clone's project (new streams, appended first)."""
    task_id = new_id()
    parent = c.new_task_parent if c.new_task_parent is not UNSET else None
    project_writes = project_writes or []
    created = [stream_id for stream_id, _ in project_writes]
    uow.lock([c.task, task_id, *([parent] if parent else []), *created])
    uow.load([c.task, *([parent] if parent else [])])
    source = _visible(uow, c.task)
    if parent:
        _visible(uow, parent)
    ctx = _context(uow, [c.task])
    events = editing.clone(source, c, ctx, task_id)
    task_models.check_clone(uow, c, events)
    for stream_id, project_events in project_writes:
        uow.append(stream_id, project_events, ctx.now)
    uow.append(task_id, events, ctx.now)
    uow.project()
    return {"id": task_id}


def on_update_tags(uow: UnitOfWork, c: cmd.UpdateTags) -> results.Result:
    ids = list(dict.fromkeys(c.ids))
    uow.lock(ids)
    uow.load(ids)
    for task_id in ids:
        placement.writable(_visible(uow, task_id))
    ctx = _context(uow, ids)
    updated = 0
    for task_id in ids:
        events = editing.update_tags(uow.states[task_id], c.add_tags, c.remove_tags, ctx)
        uow.append(task_id, events, ctx.now)
        updated += 1 if events else 0
    uow.project()
    return {"updated": updated}


def _error(exc: DomainError) -> dict[str, Any]:
    return {"codes": list(exc.codes), "msg": exc.message, "data": exc.data}


def on_many(uow: UnitOfWork, c: cmd.ManyTasks) -> results.Result:
    """Each id in a savepoint of its own: one failure does not stop (or undo) the rest."""
    singles = cmd.expand(c)
    ids = [s.task for s in singles]
    seen = uow.statuses(ids)
    uow.lock([*ids, *queue_locks(uow, c)])
    children: list[str] = []
    if isinstance(c, cmd.DeleteTasks):
        # Locked parents admit no new children, so these are all; lock them before any write.
        children = _children(uow, ids)
        uow.lock(children)
    uow.load([*ids, *children])
    uow.lock(task_models.streams(uow, singles))
    lines = Lines(uow)
    found = queue_lines.target(uow, c)
    lines.lock(ids, [found[0]] if found[0] else [])
    created = new_id()
    succeeded: list[results.Result] = []
    failed: list[results.Result] = []
    for single in singles:
        try:
            with uow.savepoint():
                resolved, _ = queue_lines.resolve(lines, single, found, created)
                outcome = apply_to_task(uow, resolved, single.task, seen.get(single.task), lines)
        except DomainError as exc:
            failed.append({"id": single.task, "error": _error(exc)})
            continue
        succeeded.append({"id": single.task, **outcome})
    return results.many(succeeded, failed)
