"""evolve(state, event) -> state: how each recorded fact changes a task. Pure, total, no checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import UNSET, structs

from tasktrack.domain import events as ev
from tasktrack.domain.metrics import moves_last_iteration
from tasktrack.domain.state import DELETED_PARENT_PREFIX, TaskState
from tasktrack.domain.values import Artifact, Execution, ModelItem, Output, Script, TaskModels


def _set(state: TaskState, **fields: Any) -> TaskState:
    return structs.replace(state, **fields)


def _touched(e: ev.Event) -> dict[str, Any]:
    """What every change of a task writes: last_update, last_change and who changed it."""
    return {"last_update": e.at, "last_change": e.at, "last_changed_by": e.by}


def _moved(e: ev.Event, change: ev.StatusChange) -> dict[str, Any]:
    """What every status change writes (SEMANTICS §2)."""
    return {
        "status": change.to_status,
        "status_reason": change.reason,
        "status_message": change.message,
        "status_changed": e.at,
        **_touched(e),
    }


def without(values: list[str], drop: str) -> list[str]:
    return [v for v in values if v != drop]


def with_tag(values: list[str], tag: str) -> list[str]:
    return sorted({*values, tag})


def artifact_order(artifacts: list[Artifact]) -> list[Artifact]:
    return sorted(artifacts, key=lambda a: (a.key, a.mode))


def _execution(state: TaskState, **fields: Any) -> Execution:
    return structs.replace(state.execution or Execution(), **fields)


def _artifacts(state: TaskState) -> list[Artifact]:
    execution = state.execution
    if execution is None or execution.artifacts is UNSET:
        return []
    return list(execution.artifacts)


def _with_artifacts(state: TaskState, artifacts: list[Artifact]) -> Execution:
    return _execution(state, artifacts=artifact_order(artifacts) if artifacts else UNSET)


def _models(state: TaskState, kind: str) -> list[ModelItem]:
    models = state.models
    value = getattr(models, kind) if models is not None else UNSET
    return [] if value is UNSET else list(value)


def _with_models(state: TaskState, kind: str, items: list[ModelItem]) -> TaskModels:
    return structs.replace(state.models or TaskModels(), **{kind: items if items else UNSET})


def active_duration(state: TaskState, at: datetime) -> int | None:
    """Seconds since start while in progress (recomputed only by pings, reports, model updates)."""
    if state.status != "in_progress" or state.started is None:
        return state.active_duration
    return max(0, int((at - state.started).total_seconds()))


def _created(e: ev.TaskCreated) -> TaskState:
    return TaskState(
        id=e.task_id,
        company=e.company,
        user=e.by,
        name=e.name,
        type=e.type,
        comment=e.comment,
        created=e.at,
        parent=e.parent,
        project=e.project,
        output=e.output,
        execution=e.execution,
        container=e.container,
        models=e.models,
        script=e.script,
        tags=e.tags,
        system_tags=e.system_tags,
        hyperparams=e.hyperparams,
        configuration=e.configuration,
        runtime=e.runtime,
        last_update=e.at,
        last_change=e.at,
        last_changed_by=e.by,
    )


def _changes(state: TaskState, e: ev.TaskEdited | ev.TaskUpdated) -> TaskState:
    fields = {f: v for f, v in structs.asdict(e.changes).items() if v is not UNSET}
    return _set(state, **fields, **_touched(e))


def _hyperparams(state: TaskState, e: ev.HyperParamsChanged) -> TaskState:
    params = {} if e.replaced_all else dict(state.hyperparams or {})
    for section, items in e.sections.items():
        if items is None:
            params.pop(section, None)
        else:
            params[section] = items
    return _set(state, hyperparams=params, **_touched(e))


def _configuration(state: TaskState, e: ev.ConfigurationChanged) -> TaskState:
    items = {} if e.replaced_all else dict(state.configuration or {})
    for name, item in e.items.items():
        if item is None:
            items.pop(name, None)
        else:
            items[name] = item
    return _set(state, configuration=items, **_touched(e))


def _artifacts_upserted(state: TaskState, e: ev.ArtifactsUpserted) -> TaskState:
    by_id = {(a.key, a.mode): a for a in _artifacts(state)}
    by_id.update({(a.key, a.mode): a for a in e.artifacts})
    return _set(state, execution=_with_artifacts(state, list(by_id.values())), **_touched(e))


def _artifacts_deleted(state: TaskState, e: ev.ArtifactsDeleted) -> TaskState:
    gone = {(a.key, a.mode) for a in e.artifacts}
    kept = [a for a in _artifacts(state) if (a.key, a.mode) not in gone]
    return _set(state, execution=_with_artifacts(state, kept), **_touched(e))


def _model_upserted(state: TaskState, e: ev.ModelUpserted) -> TaskState:
    entry = ModelItem(name=e.name, model=e.model)
    present = _models(state, e.model_type)
    if e.in_place and any(m.name == e.name for m in present):
        items = [entry if m.name == e.name else m for m in present]
    else:
        items = [*(m for m in present if m.name != e.name), entry]
    last_iteration = state.last_iteration
    if e.iteration is not None:
        last_iteration = max(last_iteration, e.iteration)
    return _set(
        state,
        models=_with_models(state, e.model_type, items),
        last_iteration=last_iteration,
        active_duration=active_duration(state, e.at),
        **_touched(e),
    )


def _input_model_deleted(state: TaskState, e: ev.TaskInputModelDeleted) -> TaskState:
    gone = DELETED_PARENT_PREFIX + e.model
    inputs = [
        structs.replace(m, model=gone) if m.model == e.model else m for m in _models(state, "input")
    ]
    execution = state.execution
    if execution is not None and execution.model == e.model:
        execution = structs.replace(execution, model=gone)
    models = _with_models(state, "input", inputs) if inputs else state.models
    return _set(state, models=models, execution=execution)


def _iteration_reached(state: TaskState, e: ev.TaskIterationReached) -> TaskState:
    # A maximum, as ClearML's last_iteration_max: an older iteration never lowers it.
    return _set(state, last_iteration=max(state.last_iteration, e.iteration), **_touched(e))


def _models_deleted(state: TaskState, e: ev.ModelsDeleted) -> TaskState:
    names = set(e.names)
    items = [m for m in _models(state, e.model_type) if m.name not in names]
    return _set(state, models=_with_models(state, e.model_type, items), **_touched(e))


def _reset(state: TaskState, e: ev.TaskReset) -> TaskState:
    kept_artifacts = [] if e.clear_all else [a for a in _artifacts(state) if a.mode != "output"]
    execution = structs.replace(
        state.execution or Execution(),
        queue=UNSET,
        artifacts=artifact_order(kept_artifacts) if kept_artifacts else UNSET,
    )
    output = state.output
    if output is not None:
        output = structs.replace(output, result=UNSET, error=UNSET)
    models = state.models
    if models is not None:
        models = structs.replace(models, output=UNSET)
    return _set(
        state,
        **_moved(e, e.change),
        last_iteration=0,
        models=models,
        execution=execution if execution != Execution() else None,
        script=None if e.clear_all else state.script,
        started=None,
        completed=None,
        published=None,
        active_duration=None,
        last_worker=None,
        last_worker_report=None,
        output=output if output != Output() else None,
        enqueue_status=None,
        runtime=None,
    )


def _requirements(state: TaskState, e: ev.TaskRequirementsSet) -> TaskState:
    script = structs.replace(state.script or Script(), requirements=e.requirements)
    return _set(state, script=script, **_touched(e))


def _metrics(state: TaskState, e: ev.MetricsReported) -> TaskState:
    """A report refreshes last_update, last_change and active_duration, and raises
    last_iteration to its highest iteration (monitor metrics and missing iters aside)."""
    highest = [
        it
        for it, s in zip(e.iters, e.series, strict=True)
        if it is not None and moves_last_iteration(e.metrics[s])
    ]
    last_iteration = max([state.last_iteration, *highest])
    return _set(
        state,
        last_iteration=last_iteration,
        last_update=e.at,
        last_change=e.at,
        active_duration=active_duration(state, e.at),
    )


def _reported(state: TaskState, e: ev.TaskLogged | ev.TaskEventsReported) -> TaskState:
    """Other reports refresh the task as scalar ones do (their iterations count too)."""
    iters = e.iters() if isinstance(e, ev.TaskEventsReported) else e.iters
    highest = [it for it in iters if it is not None]
    return _set(
        state,
        last_iteration=max([state.last_iteration, *highest]),
        last_update=e.at,
        last_change=e.at,
        active_duration=active_duration(state, e.at),
    )


def _received(state: TaskState, e: ev.TaskEventsReceived) -> TaskState:
    """Reports of other kinds refresh the task as scalar ones do (their iterations count too)."""
    highest = state.last_iteration if e.last_iteration is None else e.last_iteration
    return _set(
        state,
        last_iteration=max(state.last_iteration, highest),
        last_update=e.at,
        last_change=e.at,
        active_duration=active_duration(state, e.at),
    )


def _pinged(state: TaskState, e: ev.Event) -> TaskState:
    return _set(state, last_update=e.at, active_duration=active_duration(state, e.at))


HANDLERS: dict[type[ev.Event], Callable[[TaskState, Any], TaskState]] = {
    ev.TaskEdited: _changes,
    ev.TaskUpdated: _changes,
    ev.TaskMoved: lambda s, e: _set(s, project=e.project, last_change=e.at, last_changed_by=e.by),
    ev.TaskVisibilityChanged: lambda s, e: _set(
        s, public=e.public, last_change=e.at, last_changed_by=e.by
    ),
    ev.TaskTagsUpdated: lambda s, e: _set(s, tags=e.tags, system_tags=e.system_tags, **_touched(e)),
    ev.TaskRequirementsSet: _requirements,
    ev.HyperParamsChanged: _hyperparams,
    ev.ConfigurationChanged: _configuration,
    ev.ArtifactsUpserted: _artifacts_upserted,
    ev.ArtifactsDeleted: _artifacts_deleted,
    ev.ModelUpserted: _model_upserted,
    ev.ModelsDeleted: _models_deleted,
    ev.TaskIterationReached: _iteration_reached,
    ev.TaskStatusChanged: lambda s, e: _set(s, **_moved(e, e.change)),
    ev.TaskStarted: lambda s, e: _set(s, **_moved(e, e.change), started=s.started or e.at),
    ev.TaskStopped: lambda s, e: _set(s, **_moved(e, e.change), completed=e.at),
    ev.TaskStopRequested: lambda s, e: _set(
        s, status_reason=e.reason, status_message=e.message, **_touched(e)
    ),
    ev.TaskCompleted: lambda s, e: _set(s, **_moved(e, e.change), completed=e.at),
    ev.TaskFailed: lambda s, e: _set(s, **_moved(e, e.change)),
    ev.TaskClosed: lambda s, e: _set(s, **_moved(e, e.change)),
    ev.TaskPublished: lambda s, e: _set(s, **_moved(e, e.change), published=e.at),
    ev.TaskEnqueued: lambda s, e: _set(
        s,
        **_moved(e, e.change),
        execution=_execution(s, queue=e.queue),
        enqueue_status=e.enqueue_status,
        system_tags=without(s.system_tags, "development"),
    ),
    ev.TaskDequeued: lambda s, e: _set(
        s, **_moved(e, e.change), execution=_execution(s, queue=UNSET), enqueue_status=None
    ),
    ev.TaskReset: _reset,
    ev.TaskArchived: lambda s, e: _set(
        s,
        system_tags=with_tag(s.system_tags, "archived"),
        status_reason=e.reason,
        status_message=e.message,
        last_change=e.at,
        last_changed_by=e.by,
    ),
    ev.TaskUnarchived: lambda s, e: _set(
        s,
        system_tags=without(s.system_tags, "archived"),
        status_reason=e.reason,
        status_message=e.message,
        last_change=e.at,
        last_changed_by=e.by,
    ),
    ev.TaskDeleted: lambda s, e: _set(s, deleted=True),
    ev.TaskParentDeleted: lambda s, e: _set(s, parent=DELETED_PARENT_PREFIX + e.parent),
    ev.TaskInputModelDeleted: _input_model_deleted,
    ev.TaskPinged: _pinged,
    # Leaving the queue's line changes nothing of the task (ClearML's get_next_task neither).
    ev.TaskHandedOut: lambda s, e: s,
    ev.MetricsReported: _metrics,
    ev.TaskLogged: _reported,
    ev.TaskEventsReported: _reported,
    ev.TaskEventsReceived: _received,
    # The payloads change nothing of the task (its fold reads them as an empty stub).
    ev.TaskEventsStored: lambda s, e: s,
    # Clearing console lines changes only the log's read model, not the task.
    ev.TaskLogCleared: lambda s, e: s,
    ev.TaskEventsDeleted: lambda s, e: s,
    ev.WorkerReported: lambda s, e: _set(
        s, last_worker=e.worker, last_worker_report=e.at, last_update=e.at
    ),
}


def evolve(state: TaskState | None, event: ev.AnyEvent) -> TaskState:
    """The task after `event`. The first event of a stream must be TaskCreated."""
    if isinstance(event, ev.TaskCreated):
        new = _created(event)
        return _set(new, version=(state.version if state else 0) + 1)
    if state is None:
        raise ValueError(f"{type(event).__name__} before TaskCreated")
    handler = HANDLERS[type(event)]
    new = handler(state, event)
    if state.status == "queued" and new.status != "queued" and new.queue:
        # It left its queue (started, stopped, forced elsewhere): execution.queue names the
        # queue a task is in, and only while it is in it; the log keeps where it was.
        new = _set(new, execution=_execution(new, queue=UNSET))
    return _set(new, version=state.version + 1)


def fold(events: list[ev.AnyEvent], state: TaskState | None = None) -> TaskState | None:
    """The state after all of `events`, from `state` (None: from the beginning)."""
    for event in events:
        state = evolve(state, event)
    return state
