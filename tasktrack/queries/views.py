"""What queries answer: plain typed results (never rows or tuples)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.state import TaskState
from tasktrack.domain.values import (
    Artifact,
    Configuration,
    Container,
    Execution,
    HyperParams,
    Output,
    Runtime,
    Script,
    Status,
    TaskModels,
    TaskType,
)


class LastMetricsEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The aggregate of one (metric, variant) of a task, as ClearML's last_metrics holds it."""

    metric: str
    variant: str
    value: float | None = None
    min_value: float | None = None
    min_value_iteration: int | None = None
    max_value: float | None = None
    max_value_iteration: int | None = None
    first_value: float | None = None
    first_value_iteration: int | None = None
    count: int = 0
    mean_value: float | None = None
    x_axis_label: str | None = None


LastMetrics = dict[str, dict[str, LastMetricsEvent]]


# The answer's embedded objects hold ClearML's defaults (its documents are saved with them, and
# its SDK reads them unguarded): these views encode their defaults, unlike the domain's values.


class ArtifactView(Artifact, frozen=True, omit_defaults=False):
    """An artifact as answered: `mode` is always there (output unless said otherwise)."""


class ExecutionView(msgspec.Struct, frozen=True, kw_only=True):
    """execution as answered: `artifacts` is `[]` when there are none (`@PipelineDecorator`
    iterates it unguarded)."""

    queue: str | UnsetType = UNSET
    parameters: dict[str, Any] | UnsetType = UNSET
    model: str | UnsetType = UNSET
    model_desc: dict[str, Any] | UnsetType = UNSET
    model_labels: dict[str, int] | UnsetType = UNSET
    framework: str | UnsetType = UNSET
    docker_cmd: str | UnsetType = UNSET
    artifacts: list[ArtifactView] = []


class ScriptView(msgspec.Struct, frozen=True, kw_only=True):
    """script as answered, with the defaults of ClearML's Script document (binary python,
    empty repository and entry point)."""

    binary: str = "python"
    repository: str = ""
    tag: str | UnsetType = UNSET
    branch: str | UnsetType = UNSET
    version_num: str | UnsetType = UNSET
    entry_point: str = ""
    working_dir: str | UnsetType = UNSET
    requirements: dict[str, Any] | UnsetType = UNSET
    diff: str | UnsetType = UNSET


def _given(value: msgspec.Struct) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(value).items() if v is not UNSET}


def _artifact(a: Artifact) -> ArtifactView:
    return ArtifactView(**_given(a))


def execution_view(e: Execution | None) -> ExecutionView:
    fields = _given(e) if e is not None else {}
    fields["artifacts"] = [_artifact(a) for a in fields.get("artifacts", ())]
    return ExecutionView(**fields)


def script_view(s: Script | None) -> ScriptView:
    return ScriptView(**(_given(s) if s is not None else {}))


class TaskView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A task as `get_by_id` answers it: ClearML's task object (unset fields are absent)."""

    id: str
    name: str
    user: str
    company: str
    type: TaskType
    status: Status
    created: datetime
    tags: list[str]
    system_tags: list[str]
    comment: str | None = None
    started: datetime | None = None
    completed: datetime | None = None
    active_duration: int | None = None
    parent: str | None = None
    project: str | None = None
    output: Output | None = None
    execution: ExecutionView | None = None
    container: Container | None = None
    models: TaskModels | None = None
    script: ScriptView | None = None
    status_changed: datetime | None = None
    status_message: str | None = None
    status_reason: str | None = None
    published: datetime | None = None
    last_worker: str | None = None
    last_worker_report: datetime | None = None
    last_update: datetime | None = None
    last_change: datetime | None = None
    last_changed_by: str | None = None
    last_iteration: int | None = None
    last_metrics: LastMetrics | None = None
    hyperparams: HyperParams | None = None
    configuration: Configuration | None = None
    runtime: Runtime | None = None
    enqueue_status: Status | None = None
    report: str | None = None
    report_assets: list[str] | None = None
    # tasktrack's own: the task's stream version, for expected_version (optimistic concurrency).
    stream_version: int | None = None


def _models(models: TaskModels | None) -> TaskModels:
    """ClearML always answers both model lists (its SDK reads `models.output` unguarded)."""
    given = models or TaskModels()
    return TaskModels(
        input=[] if given.input is UNSET else given.input,
        output=[] if given.output is UNSET else given.output,
    )


# Embedded objects and maps ClearML always answers, empty when never set (its documents have
# these defaults, and its SDK reads e.g. `output.destination` and `models.output` unguarded).
_ALWAYS = {
    "output": Output,
    "hyperparams": dict,
    "configuration": dict,
    "container": dict,
    "runtime": dict,
}


def task_view(state: TaskState, last_metrics: LastMetrics | None = None) -> TaskView:
    fields: dict[str, Any] = {
        name: getattr(state, name)
        for name in TaskView.__struct_fields__
        if name not in ("last_metrics", "models", "stream_version", "execution", "script")
    }
    for name, empty in _ALWAYS.items():
        if fields[name] is None:
            fields[name] = empty()
    return TaskView(
        **fields,
        models=_models(state.models),
        execution=execution_view(state.execution),
        script=script_view(state.script),
        last_metrics=last_metrics or {},
        stream_version=state.version,
    )


class StatusHistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One status change of a task: tasktrack's status history (oldest first)."""

    version: int
    position: int
    from_status: Status
    to_status: Status
    reason: str
    message: str
    user: str
    at: datetime
    force: bool
