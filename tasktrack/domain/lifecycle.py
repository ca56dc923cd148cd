"""Decisions of the status endpoints: started, stopped, stop, enqueue, reset, publish, archive…

Each function takes the current state, the command and the context, and returns the events to
append or raises a DomainError (SEMANTICS §2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import status
from tasktrack.domain.context import Context
from tasktrack.domain.errors import InvalidTaskStatus, TaskAlreadyQueued, TaskCannotBeDeleted
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import Status


def _change(
    state: TaskState, c: cmd.ChangeStatus, new: Status, message: str | None = None
) -> ev.StatusChange:
    return status.change(
        state.status,
        new,
        force=c.force,
        reason=c.status_reason,
        message=c.status_message if message is None else message,
    )


Rule = Callable[[TaskState, Any, Context], list[ev.AnyEvent]]


def moves_to(new: Status, fact: Callable[..., ev.AnyEvent]) -> Rule:
    """The rule of a plain status endpoint: the table allows the move (or it is forced), and
    `fact` records it (started, stopped, failed, closed)."""

    def rule(state: TaskState, c: cmd.ChangeStatus, ctx: Context) -> list[ev.AnyEvent]:
        return [fact(at=ctx.now, by=ctx.user, change=_change(state, c, new))]

    return rule


def completed(state: TaskState, c: cmd.MarkCompleted, ctx: Context) -> list[ev.AnyEvent]:
    done = ev.TaskCompleted(at=ctx.now, by=ctx.user, change=_change(state, c, "completed"))
    if not c.publish:
        return [done]
    after = status_after(state, done)
    return [done, *_publish(after, c, ctx)]


def status_after(state: TaskState, event: ev.AnyEvent) -> TaskState:
    """The state with only the status moved (enough for a follow-up decision in one command)."""
    change = ev.status_change(event)
    return state if change is None else structs.replace(state, status=change.to_status)


def _publish(state: TaskState, c: cmd.ChangeStatus, ctx: Context) -> list[ev.AnyEvent]:
    # The table row decides whether a task may be published; it then passes through publishing.
    status.require(state.status, "published", force=c.force)
    if state.status == "published" and not c.force:
        # "The same status is always allowed" does not make a published task publishable
        # again: publish passes through publishing, which published does not allow.
        raise InvalidTaskStatus(
            "Invalid task status: current_status=published, new_status=published",
            current_status="published",
            new_status="published",
        )
    events: list[ev.AnyEvent] = []
    current = state.status
    if current != "publishing":
        events.append(
            ev.TaskStatusChanged(
                at=ctx.now,
                by=ctx.user,
                change=ev.StatusChange(
                    from_status=current,
                    to_status="publishing",
                    reason=c.status_reason,
                    message=c.status_message,
                    force=c.force,
                ),
            )
        )
    events.append(
        ev.TaskPublished(
            at=ctx.now,
            by=ctx.user,
            change=ev.StatusChange(
                from_status="publishing",
                to_status="published",
                reason=c.status_reason,
                message=c.status_message,
                force=c.force,
            ),
        )
    )
    return events


def publish(state: TaskState, c: cmd.PublishTask, ctx: Context) -> list[ev.AnyEvent]:
    return _publish(state, c, ctx)


def stop(state: TaskState, c: cmd.StopTask, ctx: Context) -> list[ev.AnyEvent]:
    """Stop at once when nobody runs the task; otherwise ask its worker to stop."""
    immediately = (
        state.status == "queued"
        or "development" in state.system_tags
        or not (ctx.worker_reporting or state.has_live_worker(ctx.now))
    )
    if not immediately:
        return [
            ev.TaskStopRequested(
                at=ctx.now, by=ctx.user, reason=c.status_reason, message="stopping"
            )
        ]
    change = _change(state, c, "stopped", message=f"Stopped by {ctx.user}")
    if state.status == "queued":
        return [ev.TaskDequeued(at=ctx.now, by=ctx.user, change=change, queue=state.queue)]
    return [ev.TaskStatusChanged(at=ctx.now, by=ctx.user, change=change)]


def enqueue(state: TaskState, c: cmd.EnqueueTask, ctx: Context) -> list[ev.AnyEvent]:
    """`c.queue` is the resolved queue id (the service resolves names and checks ids)."""
    assert isinstance(c.queue, str), "the service resolves the queue before deciding"
    if state.status == "queued" and state.queue == c.queue:
        raise TaskAlreadyQueued(
            f"Task already in the queue: task={state.id}, queue={c.queue}",
            task=state.id,
            queue=c.queue,
        )
    change = _change(state, c, "queued")
    enqueue_status = state.enqueue_status if state.status == "queued" else state.status
    return [
        ev.TaskEnqueued(
            at=ctx.now, by=ctx.user, change=change, queue=c.queue, enqueue_status=enqueue_status
        )
    ]


def leave_queue(
    state: TaskState, ctx: Context, *, new_status: Status | None, reason: str, message: str
) -> ev.TaskDequeued:
    """Back to `new_status`, else the status it was enqueued from, else created (forced)."""
    target: Status = new_status or state.enqueue_status or "created"
    change = ev.StatusChange(
        from_status=state.status, to_status=target, reason=reason, message=message, force=True
    )
    return ev.TaskDequeued(at=ctx.now, by=ctx.user, change=change, queue=state.queue)


def dequeue(state: TaskState, c: cmd.DequeueTask, ctx: Context) -> list[ev.AnyEvent]:
    """Only a queued or running task leaves a queue; for any other status nothing changes."""
    if state.status not in ("queued", "in_progress"):
        return []
    new_status = c.new_status if c.new_status is not UNSET else None
    return [
        leave_queue(
            state, ctx, new_status=new_status, reason=c.status_reason, message=c.status_message
        )
    ]


def reset(state: TaskState, c: cmd.ResetTask, ctx: Context) -> list[ev.AnyEvent]:
    if state.status in ("published", "publishing") and not c.force:
        raise InvalidTaskStatus(
            f"Invalid task status: current_status={state.status}, new_status=created "
            "(a published task cannot be reset without force)",
            current_status=state.status,
            new_status="created",
        )
    change = status.change(state.status, "created", force=c.force, reason="reset", message="reset")
    return [ev.TaskReset(at=ctx.now, by=ctx.user, change=change, clear_all=c.clear_all)]


def archive(state: TaskState, c: cmd.ArchiveTask, ctx: Context) -> list[ev.AnyEvent]:
    """A queued task leaves its queue, a running one stops; then the tag `archived` is added."""
    events: list[ev.AnyEvent] = []
    if state.status == "queued":
        events.append(
            leave_queue(
                state, ctx, new_status=None, reason=c.status_reason, message=c.status_message
            )
        )
    elif state.status == "in_progress":
        change = ev.StatusChange(
            from_status="in_progress",
            to_status="stopped",
            reason=c.status_reason,
            message=c.status_message,
            force=True,
        )
        events.append(ev.TaskStatusChanged(at=ctx.now, by=ctx.user, change=change))
    events.append(
        ev.TaskArchived(at=ctx.now, by=ctx.user, reason=c.status_reason, message=c.status_message)
    )
    return events


def unarchive(state: TaskState, c: cmd.UnarchiveTask, ctx: Context) -> list[ev.AnyEvent]:
    return [
        ev.TaskUnarchived(at=ctx.now, by=ctx.user, reason=c.status_reason, message=c.status_message)
    ]


def delete(state: TaskState, c: cmd.DeleteTask, ctx: Context) -> list[ev.AnyEvent]:
    if not c.force and state.status != "created" and not state.archived:
        raise TaskCannotBeDeleted(
            f"Task cannot be deleted: status={state.status} (only created or archived tasks "
            "can be deleted without force)",
            task=state.id,
            status=state.status,
        )
    return [ev.TaskDeleted(at=ctx.now, by=ctx.user, status=state.status, force=c.force)]


def check_children(state: TaskState, published: int, force: bool) -> None:
    """A task with `published` published children is neither deleted nor reset without force
    (400/123), as ClearML's task cleanup refuses it."""
    if published and not force:
        raise TaskCannotBeDeleted(
            "Task cannot be deleted: it has published children, use force=True",
            task=state.id,
            children=published,
        )


def ping(state: TaskState, c: cmd.PingTask, ctx: Context) -> list[ev.AnyEvent]:
    return [ev.TaskPinged(at=ctx.now, by=ctx.user)]


def worker_report(state: TaskState, c: cmd.ReportWorkerStatus, ctx: Context) -> list[ev.AnyEvent]:
    return [ev.WorkerReported(at=ctx.now, by=ctx.user, worker=c.worker)]
