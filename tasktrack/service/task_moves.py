"""tasks.move, tasks.clone into a project by name, and tasks.make_public / make_private.

A move by project name creates the project (and its missing parents) when absent, in the same
transaction as the tasks' TaskMoved events: the project-tree lock first, then the new
projects' and the tasks' streams, all before the first write.
"""

from __future__ import annotations

from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import placement
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.model_errors import MissingRequiredFields
from tasktrack.domain.state import TaskState
from tasktrack.service import handlers, projects
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork


def _context(uow: UnitOfWork, streams: list[str]) -> Context:
    meta = uow.metadata
    return Context(now=uow.now(streams), user=meta.user, company=meta.company)


def _own(uow: UnitOfWork, task_id: str) -> TaskState:
    state = uow.states.get(task_id)
    if state is None or not state.visible_to(uow.metadata.company):
        raise TaskNotFound(task_id)
    return state


def on_move(uow: UnitOfWork, c: cmd.MoveTasks) -> Result:
    if c.project is UNSET and c.project_name is UNSET:
        raise MissingRequiredFields(
            "project or project_name is required", fields=["project", "project_name"]
        )
    ids = list(dict.fromkeys(c.ids))
    project_id = c.project if isinstance(c.project, str) else None
    name = c.project_name if isinstance(c.project_name, str) else None
    target, writes = projects.destination(uow, project_id, name)
    uow.lock([*projects.new_streams(writes), *ids])
    uow.load(ids)
    states = [_own(uow, task_id) for task_id in ids]
    ctx = _context(uow, ids)
    moves = [(s.id, placement.move(s, target, ctx)) for s in states]  # all checked first
    projects.append(uow, writes)
    for task_id, events in moves:
        uow.append(task_id, events, ctx.now)
    uow.project()
    return {"project_id": target}


def on_clone(uow: UnitOfWork, c: cmd.CloneTask) -> Result:
    """tasks.clone; with `new_project_name` (and no new_task_project) into that project, created
    when absent, answered as `new_project: {id, name}` (as ClearML)."""
    if not c.new_project_name or c.new_task_project is not UNSET:
        # UNSET or "" (ClearML ignores an empty name too): a plain clone.
        return handlers.on_clone(uow, structs.replace(c, new_project_name=UNSET))
    target, writes = projects.destination(uow, None, c.new_project_name)
    assert target is not None  # a name that cleans to nothing is 400/407
    cloned = structs.replace(c, new_task_project=target, new_project_name=UNSET)
    answer = handlers.on_clone(uow, cloned, writes)
    return {**answer, "new_project": {"id": target, "name": c.new_project_name}}


def _visibility(uow: UnitOfWork, ids: list[str], public: bool) -> Result:
    unique = list(dict.fromkeys(ids))
    uow.lock(unique)
    uow.load(unique)
    states = [_own(uow, task_id) for task_id in unique]
    ctx = _context(uow, unique)
    changes = [(s.id, placement.visibility(s, public, ctx)) for s in states]
    for task_id, events in changes:
        uow.append(task_id, events, ctx.now)
    uow.project()
    return {"updated": sum(1 for _, events in changes if events)}


def on_make_public(uow: UnitOfWork, c: cmd.MakeTasksPublic) -> Result:
    return _visibility(uow, c.ids, True)


def on_make_private(uow: UnitOfWork, c: cmd.MakeTasksPrivate) -> Result:
    return _visibility(uow, c.ids, False)
