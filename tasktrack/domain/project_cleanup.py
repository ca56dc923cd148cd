"""projects.delete with `delete_contents`: the tasks and models of the deleted projects go too.

As ClearML's project cleanup: every task of the projects is deleted, every model of them is
deleted, and what lies outside the projects is mended as a single delete mends it (a child
task's parent, a task's input or output entry naming a deleted model). The answer lists the
files the caller may now remove: every deleted model's uri and the deleted tasks' uploaded
(output) artifacts; event urls are no longer listed by ClearML (always empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain import model_links, model_rules
from tasktrack.domain.context import Context
from tasktrack.domain.models import ModelState, stream_of
from tasktrack.domain.state import TaskState

Writes = list[tuple[str, list[ev.AnyEvent]]]


def _uploaded(task: TaskState) -> list[str]:
    execution = task.execution
    artifacts = execution.artifacts if execution is not None else UNSET
    return [a.uri for a in artifacts or [] if a.mode == "output" and isinstance(a.uri, str)]


def delete_contents(
    ctx: Context,
    tasks: Sequence[TaskState],
    models: Sequence[ModelState],
    outside: Mapping[str, TaskState],
) -> tuple[dict[str, Any], Writes]:
    """(the answer's counts and urls, the writes): `tasks` and `models` are the projects' own,
    `outside` the other tasks the deletion may touch (children of the deleted tasks, the
    models' tasks and the tasks taking a deleted model as input), all locked and loaded."""
    out: dict[str, list[ev.AnyEvent]] = {}
    deleted = {t.id for t in tasks}
    for model in models:
        owner = outside.get(model.task) if model.task and model.task not in deleted else None
        model_events, task_events = model_rules.delete(model, ctx, owner, True)
        if owner is not None and task_events:
            out.setdefault(owner.id, []).extend(task_events)
        users = [t for t in outside.values() if t.id not in deleted]
        for user, events in model_links.input_model_deleted(
            model.id, users, ctx, force=True
        ).items():
            out.setdefault(user, []).extend(events)
        out.setdefault(stream_of(model.id), []).extend(model_events)
    for child in outside.values():
        if child.parent in deleted and child.id not in deleted:
            parent_gone = ev.TaskParentDeleted(at=ctx.now, by=ctx.user, parent=child.parent)
            out.setdefault(child.id, []).append(parent_gone)
    for task in tasks:
        out.setdefault(task.id, []).append(
            ev.TaskDeleted(at=ctx.now, by=ctx.user, status=task.status, force=True)
        )
    answer = {
        "deleted_tasks": len(tasks),
        "deleted_models": len(models),
        "urls": {
            "model_urls": sorted({m.uri for m in models if m.uri}),
            "event_urls": [],
            "artifact_urls": sorted({u for t in tasks for u in _uploaded(t)}),
        },
    }
    return answer, list(out.items())
