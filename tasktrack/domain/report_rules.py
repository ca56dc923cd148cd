"""The rules of commands on a task's reported events (clear_task_log, delete_for_task), pure."""

from __future__ import annotations

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskEventsLocked
from tasktrack.domain.state import TaskState

LOCKED = frozenset({"published", "publishing"})


def clear_task_log(state: TaskState, c: cmd.ClearTaskLog, ctx: Context) -> list[ev.AnyEvent]:
    """As ClearML: a published task's events are locked unless `allow_locked` (400/101)."""
    if state.status in LOCKED and not c.allow_locked:
        raise TaskEventsLocked(state.id)
    now_ms = int(ctx.now.timestamp() * 1000)
    return [
        ev.TaskLogCleared(
            at=ctx.now,
            by=ctx.user,
            before=now_ms - c.threshold_sec * 1000 if c.threshold_sec else None,
            include_metrics=c.include_metrics or None,
            exclude_metrics=c.exclude_metrics or None,
        )
    ]


def delete_for_task(state: TaskState, c: cmd.DeleteTaskEvents, ctx: Context) -> list[ev.AnyEvent]:
    if state.status in LOCKED and not c.allow_locked:
        raise TaskEventsLocked(state.id)
    return [ev.TaskEventsDeleted(at=ctx.now, by=ctx.user)]
