"""Where a task is and who may change it: tasks.move, make_public / make_private. Pure.

A public task stays in its company (tasktrack keeps no cross-tenant task reads, see
docs/semantics.md) and is read-only, its owner included, as ClearML's public tasks are: every
command that would change it is 403/21, until the owner makes it private again.
"""

from __future__ import annotations

from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.errors import NoWritePermission, TaskNotFound
from tasktrack.domain.state import TaskState


def writable(state: TaskState) -> TaskState:
    """The task, unless it is public (403/21, as ClearML's "cannot modify public task")."""
    if state.public:
        raise NoWritePermission(
            f"forbidden (modification not allowed): cannot modify public task, id={state.id}",
            id=state.id,
        )
    return state


def move(state: TaskState, project: str | None, ctx: Context) -> list[ev.AnyEvent]:
    writable(state)
    if state.project == project:
        return []
    return [ev.TaskMoved(at=ctx.now, by=ctx.user, project=project)]


def visibility(state: TaskState, public: bool, ctx: Context) -> list[ev.AnyEvent]:
    """make_public of a private task, make_private of a public one; make_private of a task that
    is not public is 400/101, as ClearML (it only turns back what this company published)."""
    if not public and not state.public:
        raise TaskNotFound(state.id)
    if state.public == public:
        return []
    return [ev.TaskVisibilityChanged(at=ctx.now, by=ctx.user, public=public)]
