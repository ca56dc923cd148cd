"""Decisions that write a task's fields: create, edit, update, clone, tags, requirements.

Parameters, configuration, artifacts and models are in domain/params.py (SEMANTICS §1, §3).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import legacy, status
from tasktrack.domain.context import Context
from tasktrack.domain.errors import DataRuleViolation, InvalidRequest, InvalidTaskStatus
from tasktrack.domain.evolve import artifact_order
from tasktrack.domain.state import DELETED_PARENT_PREFIX, TaskState
from tasktrack.domain.values import (
    Configuration,
    Execution,
    HyperParams,
    Output,
    TaskModels,
)

V = TypeVar("V", bound=msgspec.Struct)

RESERVED_TAG_PREFIX = "__$"
MIN_NAME_LENGTH = 3


def clean_name(name: str) -> str:
    """Names are trimmed and need at least 3 characters (400/800)."""
    trimmed = name.strip()
    if len(trimmed) < MIN_NAME_LENGTH:
        raise DataRuleViolation(
            f"Task name is too short: {trimmed!r} (at least {MIN_NAME_LENGTH} characters)",
            field="name",
        )
    return trimmed


def clean_tags(tags: list[str], field: str = "tags") -> list[str]:
    """Tags are a set, kept sorted; none may claim the filter language's `__$` prefix."""
    for tag in tags:
        if tag.startswith(RESERVED_TAG_PREFIX):
            raise InvalidRequest(
                f"Validation error: {field} may not start with {RESERVED_TAG_PREFIX}: {tag!r}",
                field=field,
            )
    return sorted(set(tags))


def merge(old: V | None, new: V) -> V:
    """Shallow merge: the fields `new` sets replace those of `old`."""
    if old is None:
        return new
    given = {f: v for f, v in structs.asdict(new).items() if v is not UNSET}
    return structs.replace(old, **given)


def named_params(params: HyperParams) -> HyperParams:
    """Items carry their section and name, as the map keys say."""
    return {
        section: {
            name: structs.replace(item, section=section, name=name) for name, item in items.items()
        }
        for section, items in params.items()
    }


def named_config(config: Configuration) -> Configuration:
    return {name: structs.replace(item, name=name) for name, item in config.items()}


def _unset_to(value: Any, default: Any) -> Any:
    return default if value is UNSET else value


def _execution_without_queue(execution: Execution) -> Execution | None:
    cleaned = structs.replace(execution, queue=UNSET)
    if cleaned.artifacts is not UNSET:
        cleaned = structs.replace(cleaned, artifacts=artifact_order(cleaned.artifacts))
    return cleaned


def _label_id(layer: str, value: int | float) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidRequest(
                f"Validation error: model label {layer!r} is not an integer: {value!r}",
                field="execution.model_labels",
            )
        return int(value)
    return value


def stored_execution(given: cmd.ExecutionFields) -> Execution | None:
    """The execution a request gives, as a task keeps it: model labels as integers, and
    without the legacy fields (they become hyperparams and configuration: domain/legacy.py);
    None when nothing is left."""
    fields = {
        f: v
        for f, v in structs.asdict(given).items()
        if v is not UNSET and f not in ("parameters", "model_desc", "model_labels")
    }
    if given.model_labels is not UNSET:
        fields["model_labels"] = {k: _label_id(k, v) for k, v in given.model_labels.items()}
    return Execution(**fields) if fields else None


def _legacy_params(
    c: cmd.TaskFields, state: TaskState | None = None
) -> tuple[HyperParams | UnsetType, Configuration | UnsetType]:
    """The request's hyperparams and configuration, its legacy execution fields folded in."""
    execution = c.execution
    if isinstance(execution, UnsetType):
        return c.hyperparams, c.configuration
    return (
        legacy.hyperparams(
            execution.parameters, c.hyperparams, state.hyperparams if state else None
        ),
        legacy.configuration(
            execution.model_desc, c.configuration, state.configuration if state else None
        ),
    )


def create(c: cmd.CreateTask, ctx: Context, task_id: str) -> list[ev.AnyEvent]:
    """A new task; the queue field is never taken from a create (the task is in no queue)."""
    output = Output(destination=c.output_dest) if c.output_dest is not UNSET else None
    execution = stored_execution(c.execution) if c.execution is not UNSET else None
    hyperparams, configuration = _legacy_params(c)
    return [
        ev.TaskCreated(
            at=ctx.now,
            by=ctx.user,
            task_id=task_id,
            company=ctx.company,
            name=clean_name(c.name),
            type=c.type,
            comment=_unset_to(c.comment, ""),
            tags=clean_tags(_unset_to(c.tags, []) or []),
            system_tags=clean_tags(_unset_to(c.system_tags, []) or [], "system_tags"),
            parent=_unset_to(c.parent, None),
            project=_unset_to(c.project, None),
            output=output,
            execution=_execution_without_queue(execution) if execution else None,
            script=_unset_to(c.script, None),
            hyperparams=named_params(hyperparams) if hyperparams is not UNSET else None,
            configuration=named_config(configuration) if configuration is not UNSET else None,
            models=_unset_to(c.models, None),
            container=_unset_to(c.container, None),
            runtime=_unset_to(c.runtime, None),
        )
    ]


def validate(c: cmd.ValidateTask, ctx: Context) -> None:
    """Raise what create would raise; write nothing."""
    create(c, ctx, "0" * 32)


def edit(state: TaskState, c: cmd.EditTask, ctx: Context) -> list[ev.AnyEvent]:
    """Rewrite fields; embedded objects are shallow-merged, maps replaced (SEMANTICS §3)."""
    if state.status != "created" and not c.force:
        raise InvalidTaskStatus(
            f"Invalid task status: current_status={state.status}, expected created "
            "(edit needs force)",
            current_status=state.status,
        )
    changes: dict[str, Any] = {}
    if c.name is not UNSET:
        changes["name"] = clean_name(c.name)
    if c.tags is not UNSET:
        changes["tags"] = clean_tags(c.tags or [])
    if c.system_tags is not UNSET:
        changes["system_tags"] = clean_tags(c.system_tags or [], "system_tags")
    for field in ("type", "comment", "parent", "project", "container", "runtime"):
        value = getattr(c, field)
        if value is not UNSET:
            changes[field] = value
    hyperparams, configuration = _legacy_params(c, state)
    if hyperparams is not UNSET:
        changes["hyperparams"] = named_params(hyperparams)
    if configuration is not UNSET:
        changes["configuration"] = named_config(configuration)
    output = c.output if c.output is not UNSET else None
    if c.output_dest is not UNSET:
        output = merge(output, Output(destination=c.output_dest))
    if output is not None:
        changes["output"] = merge(state.output, output)
    given = stored_execution(c.execution) if c.execution is not UNSET else None
    if given is not None:
        # The queue is the queue the task is in: only enqueue and dequeue move it.
        merged = merge(state.execution, given)
        merged = structs.replace(merged, queue=state.queue if state.queue else UNSET)
        if merged.artifacts is not UNSET:
            merged = structs.replace(merged, artifacts=artifact_order(merged.artifacts))
        changes["execution"] = merged
    if c.script is not UNSET:
        changes["script"] = merge(state.script, c.script)
    if c.models is not UNSET:
        changes["models"] = merge(state.models, c.models)

    events: list[ev.AnyEvent] = []
    if changes:
        events.append(
            ev.TaskEdited(at=ctx.now, by=ctx.user, changes=ev.TaskChanges(**changes), force=c.force)
        )
    if c.status is not UNSET:
        change = status.change(state.status, c.status, force=c.force, reason="", message="")
        events.append(ev.TaskStatusChanged(at=ctx.now, by=ctx.user, change=change))
    return events


def update(state: TaskState, c: cmd.UpdateTask, ctx: Context) -> list[ev.AnyEvent]:
    """Descriptive fields, in any status; other keys are ignored."""
    changes: dict[str, Any] = {}
    if c.name is not UNSET:
        changes["name"] = clean_name(c.name)
    if c.tags is not UNSET:
        changes["tags"] = clean_tags(c.tags)
    if c.system_tags is not UNSET:
        changes["system_tags"] = clean_tags(c.system_tags, "system_tags")
    for field in ("comment", "project", "status_message"):
        value = getattr(c, field)
        if value is not UNSET:
            changes[field] = value
    error: str | UnsetType = c.output__error
    if c.output is not UNSET and c.output.error is not UNSET:
        error = c.output.error
    if error is not UNSET:
        changes["output"] = merge(state.output, Output(error=error))
    if not changes:
        return []
    return [ev.TaskUpdated(at=ctx.now, by=ctx.user, changes=ev.TaskChanges(**changes))]


def _clone_parent(source: TaskState, c: cmd.CloneTask) -> str:
    if c.new_task_parent is not UNSET:
        return c.new_task_parent
    if source.parent and not source.parent.startswith(DELETED_PARENT_PREFIX):
        return source.parent
    return source.id


def _clone_execution(source: TaskState, c: cmd.CloneTask) -> Execution | None:
    execution = source.execution
    if execution is not None:
        artifacts = [] if execution.artifacts is UNSET else execution.artifacts
        kept = [a for a in artifacts if a.mode != "output"]
        execution = structs.replace(execution, queue=UNSET, artifacts=kept or UNSET)
    # As ClearML, legacy parameters among the overrides are dropped (the source's
    # hyperparams and configuration, or the new_task_* ones, are the clone's).
    overrides = None if c.execution_overrides is UNSET else stored_execution(c.execution_overrides)
    if overrides is not None:
        execution = merge(execution, overrides)
        execution = _execution_without_queue(execution)
    return None if execution == Execution() else execution


def clone(source: TaskState, c: cmd.CloneTask, ctx: Context, task_id: str) -> list[ev.AnyEvent]:
    """A new created task copied from `source`, each new_task_* overriding (SEMANTICS §3)."""
    output = None
    if source.output is not None and source.output.destination is not UNSET:
        output = Output(destination=source.output.destination)
    models = None
    if source.models is not None and source.models.input is not UNSET:
        models = TaskModels(input=source.models.input)
    system_tags = _unset_to(c.new_task_system_tags, source.system_tags)
    system_tags = [t for t in system_tags if t not in ("development", "archived")]
    hyperparams = c.new_task_hyperparams
    configuration = c.new_task_configuration
    return [
        ev.TaskCreated(
            at=ctx.now,
            by=ctx.user,
            task_id=task_id,
            company=ctx.company,
            name=clean_name(_unset_to(c.new_task_name, source.name)),
            type=source.type,
            comment=_unset_to(c.new_task_comment, source.comment),
            tags=clean_tags(_unset_to(c.new_task_tags, source.tags)),
            system_tags=clean_tags(system_tags, "system_tags"),
            parent=_clone_parent(source, c),
            project=_unset_to(c.new_task_project, source.project),
            output=output,
            execution=_clone_execution(source, c),
            script=source.script,
            hyperparams=named_params(hyperparams)
            if hyperparams is not UNSET
            else source.hyperparams,
            configuration=named_config(configuration)
            if configuration is not UNSET
            else source.configuration,
            models=models,
            container=_unset_to(c.new_task_container, source.container),
            runtime=None,
            cloned_from=source.id,
        )
    ]


def update_tags(
    state: TaskState, add: list[str], remove: list[str], ctx: Context
) -> list[ev.AnyEvent]:
    tags = clean_tags(sorted((set(state.tags) | set(add)) - set(remove)))
    if tags == state.tags:
        return []
    return [ev.TaskTagsUpdated(at=ctx.now, by=ctx.user, tags=tags, system_tags=state.system_tags)]


def set_requirements(state: TaskState, c: cmd.SetRequirements, ctx: Context) -> list[ev.AnyEvent]:
    return [ev.TaskRequirementsSet(at=ctx.now, by=ctx.user, requirements=c.requirements)]
