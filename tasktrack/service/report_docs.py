"""Report handlers (reports.*): a report is a task, so each is the task's path (lock, load,
decide, append, project) plus the report's `.reports` project, found or created, and
deleted with the report that empties it.

Lock order: the company's project-tree lock first (every writer of a project stream holds
it, so the project streams locked after the task's cannot deadlock with another tree
holder), then the task, the model streams its delete touches, then project streams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import projects as domain_projects
from tasktrack.domain import report_commands as rc
from tasktrack.domain import report_docs
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.model_errors import MissingRequiredFields
from tasktrack.domain.projects import Writes
from tasktrack.domain.state import TaskState
from tasktrack.service import handlers, projects, results, task_models
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import commandreads


def _context(uow: UnitOfWork, streams: list[str]) -> Context:
    meta = uow.metadata
    return Context(now=uow.now(streams), user=meta.user, company=meta.company)


def _report(uow: UnitOfWork, task_id: str) -> TaskState:
    """Lock and load the task; it must be the caller's report (400/101, 400/150)."""
    uow.lock([task_id])
    uow.load([task_id])
    state = uow.states.get(task_id)
    if state is None or not state.visible_to(uow.metadata.company):
        raise TaskNotFound(task_id)
    return report_docs.check_report(state)


def _home(
    uow: UnitOfWork, tree: Any, project_id: str | None, project_name: str | None
) -> tuple[str, Writes]:
    """The .reports project of `project_name`, else of the project `project_id` (it must exist
    and be writable), else the top-level one: found, or created (hidden) with its parents."""
    if project_name:
        base = project_name
    elif project_id:
        base = domain_projects.writable(tree.by_id.get(project_id), project_id).name
    else:
        base = ""
    name = report_docs.reports_project_name(base)
    node, writes = domain_projects.ensure(
        name, _context(uow, []), tree.by_name, projects.new_ids(), report_docs.SYSTEM_TAGS
    )
    assert node is not None  # a .reports name is never empty
    uow.lock(projects.new_streams(writes))
    return node.id, writes


def _emptied(uow: UnitOfWork, tree: Any, project: str | None, leaving: str) -> str | None:
    """The report's .reports project if the report is its last content (no other task, model
    or child project): it goes with the report. Locked here, before the first write."""
    node = tree.by_id.get(project) if project else None
    if node is None:
        return None
    company = uow.metadata.company
    tasks = set(commandreads.project_tasks(uow.conn, company, [node.id])[2]) - {leaving}
    others = len(tasks) + len(commandreads.project_models(uow.conn, company, [node.id]))
    others += sum(1 for p in tree.nodes if p.parent == node.id)
    if not report_docs.emptied(node.id, node.name.rpartition("/")[2], others):
        return None
    uow.lock([node.id])
    uow.load_heads([node.id])
    return str(node.id)


def _drop(uow: UnitOfWork, project: str | None) -> None:
    if project is None:
        return
    ctx = _context(uow, [project])
    uow.append(project, [ev.ProjectDeleted(at=ctx.now, by=ctx.user, project_id=project)], ctx.now)


def on_create(uow: UnitOfWork, c: rc.CreateReport) -> Result:
    tree = projects.company_tree(uow)
    project_id, writes = _home(uow, tree, c.project, None)
    task_id = handlers.new_id()
    uow.lock([task_id])
    ctx = _context(uow, [])
    events = report_docs.create(c, ctx, task_id, project_id)
    projects.append(uow, writes)
    uow.append(task_id, events, ctx.now)
    uow.project()
    return {"id": task_id, "project_id": project_id}


def on_update(uow: UnitOfWork, c: rc.UpdateReport) -> Result:
    before = _report(uow, c.task)
    ctx = _context(uow, [c.task])
    events = report_docs.update(before, c, ctx)
    uow.append(c.task, events, ctx.now)
    uow.project()
    after = uow.states[c.task]
    return {"updated": 1 if events else 0, "fields": results.changed_fields(before, after)}


def _as_task(uow: UnitOfWork, task_id: str, command: cmd.OnTask) -> Result:
    """Run a task command on a report (its rules and events are the task's)."""
    _report(uow, task_id)
    uow.lock(task_models.streams(uow, [command]))
    return handlers.apply_to_task(uow, command, task_id, None)


def on_publish(uow: UnitOfWork, c: rc.PublishReport) -> Result:
    # ClearML publishes a report whatever its status (forced), through publishing.
    publish = cmd.PublishTask(task=c.task, force=True, status_message=c.message)
    return _as_task(uow, c.task, publish)


def on_archive(uow: UnitOfWork, c: rc.ArchiveReport) -> Result:
    if isinstance(c, rc.UnarchiveReport):
        _as_task(uow, c.task, cmd.UnarchiveTask(task=c.task, status_message=c.message))
        return {"unarchived": 1}
    _as_task(uow, c.task, cmd.ArchiveTask(task=c.task, status_message=c.message))
    return {"archived": 1}


def on_move(uow: UnitOfWork, c: rc.MoveReport) -> Result:
    if c.project is UNSET and not c.project_name:
        raise MissingRequiredFields(
            "project or project_name is required", fields=["project", "project_name"]
        )
    tree = projects.company_tree(uow)
    state = _report(uow, c.task)
    name = c.project_name if isinstance(c.project_name, str) else None
    project_id, writes = _home(uow, tree, c.project if isinstance(c.project, str) else None, name)
    ctx = _context(uow, [c.task])
    events = report_docs.move(state, project_id, ctx)
    emptied = _emptied(uow, tree, state.project, c.task) if events else None
    projects.append(uow, writes)
    uow.append(c.task, events, ctx.now)
    _drop(uow, emptied)
    uow.project()
    return {"project_id": project_id}


def on_delete(uow: UnitOfWork, c: rc.DeleteReport) -> Result:
    tree = projects.company_tree(uow)
    state = _report(uow, c.task)
    emptied = _emptied(uow, tree, state.project, c.task)
    _as_task(uow, c.task, cmd.DeleteTask(task=c.task, force=c.force))
    _drop(uow, emptied)
    uow.project()
    return {"deleted": 1}


HANDLERS: dict[type[cmd.Command], Callable[[UnitOfWork, Any], Result]] = {
    rc.CreateReport: on_create,
    rc.UpdateReport: on_update,
    rc.PublishReport: on_publish,
    rc.ArchiveReport: on_archive,
    rc.UnarchiveReport: on_archive,
    rc.MoveReport: on_move,
    rc.DeleteReport: on_delete,
}
