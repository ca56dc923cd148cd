"""A task's links to models, decided purely: which models it names, and what its reset or
deletion does to its output models (ClearML's cleanup).

The input models of a task are the models its `models.input` names and its legacy
`execution.model` (the input model of API versions before 2.13). Its output models are the
models its `models.output` names and the models whose `task` is it. On reset or delete, with
`delete_output_models` (the default):
- a draft (not ready) model no task takes as input is deleted;
- a draft some task takes as input stays, unlinked from the task (`task` cleared);
- a published (ready) model stays: a reset unlinks it, a deletion points it at
  `__DELETED__<task>` (counted in `updated_models`). Without `force`, a published output model
  refuses the whole command (400/123), as ClearML's.
Without `delete_output_models`, drafts are kept as published ones are.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain.commands import CloneTask
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskCannotBeDeleted
from tasktrack.domain.model_errors import ModelInUse
from tasktrack.domain.model_rules import DELETED_PREFIX
from tasktrack.domain.models import ModelState
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import Execution, TaskModels


class Cleanup(msgspec.Struct, frozen=True, kw_only=True):
    """The events of each model the cleanup changes, and ClearML's counts of them."""

    events: dict[str, list[ev.AnyEvent]]
    deleted_models: int = 0
    updated_models: int = 0
    # The weights of the drafts no task takes as input (ClearML lists them whether or not
    # they are deleted: the caller may delete the files).
    model_urls: list[str] = []


def output_model_ids(task: TaskState, linked: Iterable[str] = ()) -> list[str]:
    """The task's output models: those its `models.output` names, then those `linked` to it
    (the models whose `task` is it), each once."""
    outputs = task.models.output if task.models is not None else UNSET
    named = [m.model for m in outputs or []] if outputs is not UNSET else []
    return list(dict.fromkeys([*named, *linked]))


def input_model_ids(models: TaskModels | None, execution: Execution | None) -> list[str]:
    """The models a task takes as input, each once."""
    inputs = models.input if models is not None else UNSET
    named = [m.model for m in inputs or []] if inputs is not UNSET else []
    legacy = execution.model if execution is not None else UNSET
    return list(dict.fromkeys([*named, *([legacy] if legacy else [])]))


def clone_references(created: ev.TaskCreated, c: CloneTask) -> list[str]:
    """The models a clone must find: all its input models with `validate_references`, else
    only an input model the request names (execution_overrides.model), as ClearML checks."""
    if c.validate_references:
        return input_model_ids(created.models, created.execution)
    override = c.execution_overrides.model if c.execution_overrides is not UNSET else UNSET
    return [override] if override else []


def input_model_deleted(
    model_id: str, users: Iterable[TaskState], ctx: Context, *, force: bool
) -> dict[str, list[ev.AnyEvent]]:
    """The events of the tasks that take a model as input when it is deleted: their references
    read `__DELETED__<id>` from then on. Without force, any such task refuses the deletion
    (400/205), as ClearML's."""
    using = [t for t in users if model_id in input_model_ids(t.models, t.execution)]
    if using and not force:
        raise ModelInUse(
            f"Model is an input of tasks, use force to delete: id={model_id}",
            id=model_id,
            num_tasks=len(using),
        )
    return {
        t.id: [ev.TaskInputModelDeleted(at=ctx.now, by=ctx.user, model=model_id)] for t in using
    }


def last_output_model(task: TaskState) -> str | None:
    """The model a publish of the task publishes with it: its last output entry's."""
    outputs = task.models.output if task.models is not None else UNSET
    return outputs[-1].model if outputs else None


def cleanup(
    task: TaskState,
    models: Iterable[ModelState],
    in_use: set[str],
    ctx: Context,
    *,
    deleting: bool,
    force: bool,
    delete_drafts: bool = True,
) -> Cleanup:
    """The model events of resetting (deleting: False) or deleting `task`, given its output
    models and which of them some task takes as input. Raises before deciding anything."""
    models = list(models)
    published = [m for m in models if m.ready]
    if published and not force:
        raise TaskCannotBeDeleted(
            f"Task has published output models, use force: task={task.id}",
            task=task.id,
            models=len(published),
        )
    events: dict[str, list[ev.AnyEvent]] = {}
    deleted = updated = 0
    by = ctx.user
    for model in models:
        if delete_drafts and not model.ready:
            if model.id not in in_use:
                events[model.id] = [ev.ModelDeleted(at=ctx.now, by=by)]
                deleted += 1
            elif model.task is not None:
                events[model.id] = [_linked(ctx, None)]
            continue
        target = f"{DELETED_PREFIX}{task.id}" if deleting else None
        if model.task != target:
            events[model.id] = [_linked(ctx, target)]
        updated += 1 if deleting else 0
    urls = [m.uri for m in models if not m.ready and m.id not in in_use and m.uri]
    return Cleanup(events=events, deleted_models=deleted, updated_models=updated, model_urls=urls)


def file_urls(task: TaskState, cleanup: Cleanup) -> dict[str, list[str]]:
    """ClearML's `urls` of a reset or deletion: the files the task uploaded that the caller
    may now delete. Event urls are no longer listed by ClearML either (always empty)."""
    execution = task.execution
    artifacts = execution.artifacts if execution is not None else UNSET
    uploaded = [a.uri for a in artifacts or [] if a.mode == "output" and a.uri]
    return {
        "model_urls": cleanup.model_urls,
        "event_urls": [],
        "artifact_urls": [u for u in uploaded if isinstance(u, str)],
    }


def _linked(ctx: Context, task: str | None) -> ev.ModelEdited:
    return ev.ModelEdited(at=ctx.now, by=ctx.user, changes=ev.ModelChanges(task=task))
