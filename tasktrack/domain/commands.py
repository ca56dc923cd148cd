"""Every order tasktrack takes about tasks: one frozen Struct per command, named as an order.

Field names are those of ClearML's request bodies, so an HTTP body decodes straight into its
command; unknown keys are ignored (`user` and `company` among them: they come from the
credential), a known key with a wrong type is refused. Absent optional fields are UNSET.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.limits import Ids, Key
from tasktrack.domain.values import (
    Artifact,
    ArtifactId,
    ConfigItem,
    Configuration,
    Container,
    HyperParams,
    Int64,
    ModelType,
    Output,
    ParamItem,
    Runtime,
    Script,
    Status,
    TaskModels,
    TaskType,
    Value,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="command", tag=True):
    """Base of all commands. `expected_version` makes a write conditional (409 on mismatch).

    `endpoint` names the HTTP endpoint whose body decodes into the command (http/endpoints.py
    serves every command that names one) and `summary` is its line in the OpenAPI document.
    """

    endpoint: ClassVar[str | None] = None
    summary: ClassVar[str] = ""
    # Whether the command goes through ClearML's compare-and-set on the status the request saw
    # (400/121 when another change landed while it waited for the task's lock).
    compare_and_set: ClassVar[bool] = False
    # Whether a null at the top of the request body means "not given", as ClearML reads
    # create, edit, update and clone requests (its schema check skips nulls, then they are
    # discarded).
    nulls_absent: ClassVar[bool] = False

    expected_version: int | None = None


class TaskCommand(Command, frozen=True, kw_only=True):
    """A command about one existing task."""

    task: str


class ChangeStatus(TaskCommand, frozen=True, kw_only=True):
    """The common fields of ClearML's status endpoints (which compare-and-set, but delete and
    unarchive)."""

    compare_and_set = True

    force: bool = False
    status_reason: str = ""
    status_message: str = ""


# --- creating and editing ------------------------------------------------------------------


class ExecutionFields(Value, frozen=True):
    """`execution` as a request gives it: ClearML's schema types a model label as a JSON
    integer, which `1.0` is too (stored as 1); `parameters` and `model_desc` are the legacy
    fields that become hyperparams and configuration (domain/legacy.py)."""

    queue: str | UnsetType = UNSET
    parameters: dict[str, Any] | UnsetType = UNSET
    model: str | UnsetType = UNSET
    model_desc: dict[str, Any] | UnsetType = UNSET
    model_labels: dict[str, int | float] | UnsetType = UNSET
    framework: str | UnsetType = UNSET
    docker_cmd: str | UnsetType = UNSET
    artifacts: list[Artifact] | UnsetType = UNSET


class TaskFields(Command, frozen=True, kw_only=True):
    """The fields create, validate and edit accept."""

    name: str | UnsetType = UNSET
    type: TaskType | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    # null reads as no tags (ClearML's SDK and tests send `system_tags: null`)
    tags: list[Key] | UnsetType | None = UNSET
    system_tags: list[Key] | UnsetType | None = UNSET
    parent: Key | UnsetType | None = UNSET
    project: Key | UnsetType | None = UNSET
    output_dest: str | UnsetType = UNSET
    execution: ExecutionFields | UnsetType = UNSET
    script: Script | UnsetType = UNSET
    hyperparams: HyperParams | UnsetType = UNSET
    configuration: Configuration | UnsetType = UNSET
    models: TaskModels | UnsetType = UNSET
    container: Container | UnsetType = UNSET
    runtime: Runtime | UnsetType = UNSET


class CreateTask(TaskFields, frozen=True, kw_only=True):
    """tasks.create: a new task in status created (name and type are required)."""

    endpoint = "tasks.create"
    summary = "Create a task (status created)"
    nulls_absent = True

    name: str
    type: TaskType


class ValidateTask(CreateTask, frozen=True, kw_only=True):
    """tasks.validate: would this create succeed? Writes nothing."""

    endpoint = "tasks.validate"
    summary = "Check a create request without writing"


class EditTask(TaskFields, frozen=True, kw_only=True):
    """tasks.edit: rewrite fields; only in status created unless forced."""

    endpoint = "tasks.edit"
    summary = "Edit a task (created, or with force)"
    nulls_absent = True

    task: str
    force: bool = False
    status: Status | UnsetType = UNSET
    output: Output | UnsetType = UNSET


class UpdateTask(TaskCommand, frozen=True, kw_only=True):
    """tasks.update: descriptive fields, in any status."""

    endpoint = "tasks.update"
    summary = "Update descriptive fields (any status)"
    nulls_absent = True

    name: str | UnsetType = UNSET
    status_message: str | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    project: Key | UnsetType | None = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    output: Output | UnsetType = UNSET
    output__error: str | UnsetType = UNSET


class CloneTask(TaskCommand, frozen=True, kw_only=True):
    """tasks.clone: a new created task copied from `task`; each new_task_* overrides."""

    endpoint = "tasks.clone"
    summary = "Clone a task into a new created task"
    nulls_absent = True

    new_task_name: str | UnsetType = UNSET
    new_task_comment: str | UnsetType = UNSET
    new_task_tags: list[Key] | UnsetType = UNSET
    new_task_system_tags: list[Key] | UnsetType = UNSET
    new_task_parent: Key | UnsetType = UNSET
    new_task_project: Key | UnsetType = UNSET
    new_task_hyperparams: HyperParams | UnsetType = UNSET
    new_task_configuration: Configuration | UnsetType = UNSET
    new_task_container: Container | UnsetType = UNSET
    execution_overrides: ExecutionFields | UnsetType = UNSET
    # Check that the models and parent the new task names exist (an overridden input model,
    # execution_overrides.model, is checked always).
    validate_references: bool = False
    # The project by name (created with its missing parents if absent), unless new_task_project
    # names one; the answer then holds `new_project: {id, name}`.
    new_project_name: Key | UnsetType = UNSET


class UpdateTags(Command, frozen=True, kw_only=True):
    """tasks.update_tags: add and remove tags of several tasks."""

    endpoint = "tasks.update_tags"
    summary = "Add and remove tags of tasks"

    ids: Ids
    add_tags: list[Key] = []
    remove_tags: list[Key] = []


class MoveTasks(Command, frozen=True, kw_only=True):
    """tasks.move: tasks into `project` (an id; null: no project) or the project named
    `project_name` (created with its missing parents if absent)."""

    endpoint = "tasks.move"
    summary = "Move tasks into a project (by id, or by name: created if absent)"

    ids: Ids
    project: Key | UnsetType | None = UNSET
    project_name: Key | UnsetType = UNSET


class MakeTasksPublic(Command, frozen=True, kw_only=True):
    """tasks.make_public: the company's own tasks become public, and read-only."""

    endpoint = "tasks.make_public"
    summary = "Make tasks public (read-only)"

    ids: Ids


class MakeTasksPrivate(Command, frozen=True, kw_only=True):
    """tasks.make_private: the company's public tasks become private (writable) again."""

    endpoint = "tasks.make_private"
    summary = "Make public tasks private again"

    ids: Ids


class SetRequirements(TaskCommand, frozen=True, kw_only=True):
    """tasks.set_requirements: replace script.requirements."""

    endpoint = "tasks.set_requirements"
    summary = "Replace script.requirements"

    requirements: dict[str, Any]


class EditHyperParams(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.edit_hyper_params"
    summary = "Add or replace hyper parameters"
    hyperparams: list[ParamItem]
    replace_hyperparams: Literal["none", "section", "all"] = "none"
    force: bool = False


class ParamKey(msgspec.Struct, frozen=True, kw_only=True):
    """A hyper parameter (section and name) or, without name, a whole section."""

    section: str
    name: str | UnsetType = UNSET


class DeleteHyperParams(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.delete_hyper_params"
    summary = "Delete hyper parameters"
    hyperparams: list[ParamKey]
    force: bool = False


class EditConfiguration(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.edit_configuration"
    summary = "Add or replace configuration"
    configuration: list[ConfigItem]
    replace_configuration: bool = False
    force: bool = False


class DeleteConfiguration(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.delete_configuration"
    summary = "Delete configuration items"
    configuration: list[str]
    force: bool = False


class AddOrUpdateArtifacts(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.add_or_update_artifacts"
    summary = "Add or replace artifacts"
    artifacts: list[Artifact]
    force: bool = False


class DeleteArtifacts(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.delete_artifacts"
    summary = "Delete artifacts"
    artifacts: list[ArtifactId]
    force: bool = False


class AddOrUpdateModel(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.add_or_update_model"
    summary = "Set an input or output model"
    name: str
    model: str
    type: ModelType
    iteration: Int64 | None = None


class ModelKey(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: ModelType


class DeleteModels(TaskCommand, frozen=True, kw_only=True):
    endpoint = "tasks.delete_models"
    summary = "Delete input or output models"
    models: list[ModelKey]


# --- the status machine ----------------------------------------------------------------------


class MarkStarted(ChangeStatus, frozen=True, kw_only=True):
    """tasks.started"""

    endpoint = "tasks.started"
    summary = "Mark a task in_progress"


class MarkStopped(ChangeStatus, frozen=True, kw_only=True):
    """tasks.stopped"""

    endpoint = "tasks.stopped"
    summary = "Mark a task stopped"


class MarkCompleted(ChangeStatus, frozen=True, kw_only=True):
    """tasks.completed (then publish, with `publish`)"""

    endpoint = "tasks.completed"
    summary = "Mark a task completed (and publish)"

    publish: bool = False


class MarkFailed(ChangeStatus, frozen=True, kw_only=True):
    """tasks.failed"""

    endpoint = "tasks.failed"
    summary = "Mark a task failed"


class CloseTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.close"""

    endpoint = "tasks.close"
    summary = "Close a task"


class StopTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.stop: stop now, or ask the live worker to stop."""

    endpoint = "tasks.stop"
    summary = "Stop a task, or ask its live worker to"

    # A pipeline controller's steps (its child tasks) first, each on its own (api_pipelines).
    include_pipeline_steps: bool = False


class EnqueueTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.enqueue: by queue id (must exist) or queue_name (created on first use)."""

    endpoint = "tasks.enqueue"
    summary = "Put a task in a queue"

    queue: Key | UnsetType = UNSET
    queue_name: Key | UnsetType = UNSET


class DequeueTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.dequeue: back to new_status, else the status it was enqueued from."""

    endpoint = "tasks.dequeue"
    summary = "Take a task out of its queue"

    new_status: Status | UnsetType = UNSET


class ResetTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.reset: back to created, run fields cleared."""

    endpoint = "tasks.reset"
    summary = "Reset a task to created"

    clear_all: bool = False
    delete_output_models: bool = True  # its draft output models no task takes as input
    return_file_urls: bool = False  # answer `urls`: the files the caller may now delete


class PublishTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.publish: through publishing to published."""

    endpoint = "tasks.publish"
    summary = "Publish a task"

    publish_model: bool = True


class DeleteTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.delete: only created or archived tasks unless forced."""

    endpoint = "tasks.delete"
    summary = "Delete a task (created or archived, or with force)"
    compare_and_set = False

    delete_output_models: bool = True  # its draft output models no task takes as input
    return_file_urls: bool = False  # answer `urls`: the files the caller may now delete
    # A pipeline controller's steps (its child tasks) first, each on its own (api_pipelines).
    include_pipeline_steps: bool = False


class ArchiveTask(ChangeStatus, frozen=True, kw_only=True):
    """One task of tasks.archive / archive_many."""

    # A pipeline controller's steps (its child tasks) first, each on its own (api_pipelines).
    include_pipeline_steps: bool = False


class UnarchiveTask(ChangeStatus, frozen=True, kw_only=True):
    """One task of tasks.unarchive_many."""

    compare_and_set = False
    # A pipeline controller's steps (its child tasks) first, each on its own (api_pipelines).
    include_pipeline_steps: bool = False


class PingTask(TaskCommand, frozen=True, kw_only=True):
    """tasks.ping: the task is alive."""

    endpoint = "tasks.ping"
    summary = "The task is alive"


class ReportWorkerStatus(Command, frozen=True, kw_only=True):
    """workers.status_report: a worker's heartbeat: the task it runs, its machine stats.

    A heartbeat is a row, not an event; only what it changes is a fact (service/workers.py).
    """

    endpoint = "workers.status_report"
    summary = "A worker reports the task it runs and its machine stats"

    worker: Key
    task: str | UnsetType | None = UNSET
    queue: str | None = None
    queues: list[str] | None = None
    # ms since the epoch as the agent sends it (ClearML's schema says seconds; its agent and
    # its own tests send ms); absent: the server's time.
    timestamp: int | None = None
    machine_stats: dict[str, float | list[float] | None] | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    # The caller's address, set by the HTTP endpoint (whatever the body says), as ClearML's ip.
    ip: str | None = None


# --- metrics ------------------------------------------------------------------------------


class AddEvents(Command, frozen=True, kw_only=True):
    """events.add / events.add_batch: events of one or several tasks, each checked on its own.

    Items are raw JSON objects (or domain.metrics.EventIn): a bad one is skipped and counted,
    it does not refuse the request.
    """

    events: list[Any]


class ClearTaskLog(TaskCommand, frozen=True, kw_only=True):
    """events.clear_task_log: clear console lines (older than `threshold_sec`, of some
    metrics or all but some); the log keeps them."""

    endpoint = "events.clear_task_log"
    summary = "Clear a task's console lines from its log read model"

    threshold_sec: int | None = None
    allow_locked: bool = False
    include_metrics: list[str] | None = None
    exclude_metrics: list[str] | None = None


class DeleteTaskEvents(TaskCommand, frozen=True, kw_only=True):
    """events.delete_for_task: every event the task reported leaves the read models (the log
    keeps them)."""

    endpoint = "events.delete_for_task"
    summary = "Delete a task's reported events from the read models"

    allow_locked: bool = False


# --- projects -------------------------------------------------------------------------------


class CreateProject(Command, frozen=True, kw_only=True):
    """projects.create: a project with a name unique within the company."""

    endpoint = "projects.create"
    summary = "Create a project (unique name)"

    name: Key
    description: str = ""
    tags: list[Key] = []
    system_tags: list[Key] = []
    default_output_destination: str | None = None


class ProjectCommand(Command, frozen=True, kw_only=True):
    """A command about one existing project."""

    project: str


class UpdateProject(ProjectCommand, frozen=True, kw_only=True):
    """projects.update: descriptive fields, and the basename (never the location: `move`)."""

    endpoint = "projects.update"
    summary = "Update a project (a new name keeps its location; children follow)"

    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    default_output_destination: str | UnsetType | None = UNSET


class MoveProject(ProjectCommand, frozen=True, kw_only=True):
    """projects.move: the project and its children go under `new_location` (created if new;
    empty or absent: the top level)."""

    endpoint = "projects.move"
    summary = "Move a project and its children under another location"

    new_location: str | None = None


class MergeProject(ProjectCommand, frozen=True, kw_only=True):
    """projects.merge: the project's unarchived tasks and its children go into the destination
    (absent: the top level) and the project ends."""

    endpoint = "projects.merge"
    summary = "Merge a project into another"

    destination_project: str | None = None


class DeleteProject(ProjectCommand, frozen=True, kw_only=True):
    """projects.delete: the project and its children; their tasks lose their project."""

    endpoint = "projects.delete"
    summary = "Delete a project and its children (force: even with unarchived tasks)"

    force: bool = False
    delete_contents: bool = False


class MakeProjectsPublic(Command, frozen=True, kw_only=True):
    endpoint = "projects.make_public"
    summary = "Make projects public (read-only)"

    ids: Ids


class MakeProjectsPrivate(Command, frozen=True, kw_only=True):
    endpoint = "projects.make_private"
    summary = "Make public projects private again"

    ids: Ids


# --- the *_many variants: the same command for each id, one failure does not stop the rest --


class ManyTasks(Command, frozen=True, kw_only=True):
    """A command applied to every id in `ids`, each succeeding or failing on its own."""

    single: ClassVar[type[TaskCommand]]
    ids: Ids


class ResetTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.reset_many"
    summary = "Reset tasks"
    single = ResetTask
    force: bool = False
    clear_all: bool = False
    delete_output_models: bool = True
    return_file_urls: bool = False
    status_reason: str = ""
    status_message: str = ""


class DeleteTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.delete_many"
    summary = "Delete tasks"
    single = DeleteTask
    force: bool = False
    delete_output_models: bool = True
    return_file_urls: bool = False
    status_reason: str = ""
    status_message: str = ""
    include_pipeline_steps: bool = False


class StopTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.stop_many"
    summary = "Stop tasks"
    single = StopTask
    force: bool = False
    status_reason: str = ""
    status_message: str = ""
    include_pipeline_steps: bool = False


class EnqueueTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.enqueue_many"
    summary = "Enqueue tasks"
    single = EnqueueTask
    queue: Key | UnsetType = UNSET
    queue_name: Key | UnsetType = UNSET
    status_reason: str = ""
    status_message: str = ""


class DequeueTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.dequeue_many"
    summary = "Dequeue tasks"
    single = DequeueTask
    new_status: Status | UnsetType = UNSET
    status_reason: str = ""
    status_message: str = ""


class PublishTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.publish_many"
    summary = "Publish tasks"
    single = PublishTask
    force: bool = False
    publish_model: bool = True
    status_reason: str = ""
    status_message: str = ""


class ArchiveTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.archive_many"
    summary = "Archive tasks"
    single = ArchiveTask
    status_reason: str = ""
    status_message: str = ""
    include_pipeline_steps: bool = False


class UnarchiveTasks(ManyTasks, frozen=True, kw_only=True):
    endpoint = "tasks.unarchive_many"
    summary = "Unarchive tasks"
    single = UnarchiveTask
    status_reason: str = ""
    status_message: str = ""
    include_pipeline_steps: bool = False


def expand(many: ManyTasks) -> list[TaskCommand]:
    """The single-task commands of a *_many command, in the order of `ids` (duplicates once)."""
    shared = {
        name: getattr(many, name)
        for name in many.__struct_fields__
        if name not in ("ids", "expected_version")
    }
    return [many.single(task=task_id, **shared) for task_id in dict.fromkeys(many.ids)]


# A command about one existing task: the ones decide() takes (EditTask keeps its own `task`, as
# its fields come from TaskFields).
OnTask = TaskCommand | EditTask | ReportWorkerStatus


def declared() -> list[type[Command]]:
    """Every command of this module that names an HTTP endpoint: the registry the endpoint
    table and the consistency checks read (tests/unit/test_registries.py)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]


def given_fields(kind: type[Command], fields: dict[str, Any]) -> dict[str, Any]:
    """A request's fields as `kind` reads them: for a command whose nulls mean "not given"
    (`nulls_absent`), the top-level nulls are left out."""
    if not kind.nulls_absent:
        return fields
    return {k: v for k, v in fields.items() if v is not None}
