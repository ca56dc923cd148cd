"""Every order tasktrack takes about tasks: one frozen Struct per command, named as an order.

Field names are those of ClearML's request bodies, so an HTTP body decodes straight into its
command; unknown keys are ignored (`user` and `company` among them: they come from the
credential), a known key with a wrong type is refused. Absent optional fields are UNSET.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.limits import Key
from tasktrack.domain.values import (
    Artifact,
    ArtifactId,
    ConfigItem,
    Configuration,
    Container,
    Execution,
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
)


class Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="command", tag=True):
    """Base of all commands. `expected_version` makes a write conditional (409 on mismatch)."""

    expected_version: int | None = None


class TaskCommand(Command, frozen=True, kw_only=True):
    """A command about one existing task."""

    task: str


class ChangeStatus(TaskCommand, frozen=True, kw_only=True):
    """The common fields of ClearML's status endpoints."""

    force: bool = False
    status_reason: str = ""
    status_message: str = ""


# --- creating and editing ------------------------------------------------------------------


class TaskFields(Command, frozen=True, kw_only=True):
    """The fields create, validate and edit accept."""

    name: str | UnsetType = UNSET
    type: TaskType | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    parent: Key | UnsetType | None = UNSET
    project: Key | UnsetType | None = UNSET
    output_dest: str | UnsetType = UNSET
    execution: Execution | UnsetType = UNSET
    script: Script | UnsetType = UNSET
    hyperparams: HyperParams | UnsetType = UNSET
    configuration: Configuration | UnsetType = UNSET
    models: TaskModels | UnsetType = UNSET
    container: Container | UnsetType = UNSET
    runtime: Runtime | UnsetType = UNSET


class CreateTask(TaskFields, frozen=True, kw_only=True):
    """tasks.create: a new task in status created (name and type are required)."""

    name: str
    type: TaskType


class ValidateTask(CreateTask, frozen=True, kw_only=True):
    """tasks.validate: would this create succeed? Writes nothing."""


class EditTask(TaskFields, frozen=True, kw_only=True):
    """tasks.edit: rewrite fields; only in status created unless forced."""

    task: str
    force: bool = False
    status: Status | UnsetType = UNSET
    output: Output | UnsetType = UNSET


class UpdateTask(Command, frozen=True, kw_only=True):
    """tasks.update: descriptive fields, in any status."""

    task: str
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

    new_task_name: str | UnsetType = UNSET
    new_task_comment: str | UnsetType = UNSET
    new_task_tags: list[Key] | UnsetType = UNSET
    new_task_system_tags: list[Key] | UnsetType = UNSET
    new_task_parent: Key | UnsetType = UNSET
    new_task_project: Key | UnsetType = UNSET
    new_task_hyperparams: HyperParams | UnsetType = UNSET
    new_task_configuration: Configuration | UnsetType = UNSET
    new_task_container: Container | UnsetType = UNSET
    execution_overrides: Execution | UnsetType = UNSET


class UpdateTags(Command, frozen=True, kw_only=True):
    """tasks.update_tags: add and remove tags of several tasks."""

    ids: list[str]
    add_tags: list[Key] = []
    remove_tags: list[Key] = []


class SetRequirements(TaskCommand, frozen=True, kw_only=True):
    """tasks.set_requirements: replace script.requirements."""

    requirements: dict[str, Any]


class EditHyperParams(TaskCommand, frozen=True, kw_only=True):
    hyperparams: list[ParamItem]
    replace_hyperparams: Literal["none", "section", "all"] = "none"
    force: bool = False


class ParamKey(msgspec.Struct, frozen=True, kw_only=True):
    """A hyper parameter (section and name) or, without name, a whole section."""

    section: str
    name: str | UnsetType = UNSET


class DeleteHyperParams(TaskCommand, frozen=True, kw_only=True):
    hyperparams: list[ParamKey]
    force: bool = False


class EditConfiguration(TaskCommand, frozen=True, kw_only=True):
    configuration: list[ConfigItem]
    replace_configuration: bool = False
    force: bool = False


class DeleteConfiguration(TaskCommand, frozen=True, kw_only=True):
    configuration: list[str]
    force: bool = False


class AddOrUpdateArtifacts(TaskCommand, frozen=True, kw_only=True):
    artifacts: list[Artifact]
    force: bool = False


class DeleteArtifacts(TaskCommand, frozen=True, kw_only=True):
    artifacts: list[ArtifactId]
    force: bool = False


class AddOrUpdateModel(TaskCommand, frozen=True, kw_only=True):
    name: str
    model: str
    type: ModelType
    iteration: Int64 | None = None


class ModelKey(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: ModelType


class DeleteModels(TaskCommand, frozen=True, kw_only=True):
    models: list[ModelKey]


# --- the status machine ----------------------------------------------------------------------


class MarkStarted(ChangeStatus, frozen=True, kw_only=True):
    """tasks.started"""


class MarkStopped(ChangeStatus, frozen=True, kw_only=True):
    """tasks.stopped"""


class MarkCompleted(ChangeStatus, frozen=True, kw_only=True):
    """tasks.completed (then publish, with `publish`)"""

    publish: bool = False


class MarkFailed(ChangeStatus, frozen=True, kw_only=True):
    """tasks.failed"""


class CloseTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.close"""


class StopTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.stop: stop now, or ask the live worker to stop."""


class EnqueueTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.enqueue: by queue id (must exist) or queue_name (created on first use)."""

    queue: Key | UnsetType = UNSET
    queue_name: Key | UnsetType = UNSET


class DequeueTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.dequeue: back to new_status, else the status it was enqueued from."""

    new_status: Status | UnsetType = UNSET


class ResetTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.reset: back to created, run fields cleared."""

    clear_all: bool = False


class PublishTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.publish: through publishing to published."""

    publish_model: bool = True


class DeleteTask(ChangeStatus, frozen=True, kw_only=True):
    """tasks.delete: only created or archived tasks unless forced."""


class ArchiveTask(ChangeStatus, frozen=True, kw_only=True):
    """One task of tasks.archive / archive_many."""


class UnarchiveTask(ChangeStatus, frozen=True, kw_only=True):
    """One task of tasks.unarchive_many."""


class PingTask(TaskCommand, frozen=True, kw_only=True):
    """tasks.ping: the task is alive."""


class ReportWorkerStatus(Command, frozen=True, kw_only=True):
    """workers.status_report: a worker says which task it runs."""

    worker: str
    task: str | UnsetType = UNSET


# --- metrics ------------------------------------------------------------------------------


class AddEvents(Command, frozen=True, kw_only=True):
    """events.add / events.add_batch: events of one or several tasks, each checked on its own.

    Items are raw JSON objects (or domain.metrics.EventIn): a bad one is skipped and counted,
    it does not refuse the request.
    """

    events: list[Any]


# --- projects -------------------------------------------------------------------------------


class CreateProject(Command, frozen=True, kw_only=True):
    """projects.create: a project with a name unique within the company."""

    name: Key
    description: str = ""
    tags: list[Key] = []
    system_tags: list[Key] = []
    default_output_destination: str | None = None


# --- the *_many variants: the same command for each id, one failure does not stop the rest --


class ManyTasks(Command, frozen=True, kw_only=True):
    """A command applied to every id in `ids`, each succeeding or failing on its own."""

    single: ClassVar[type[TaskCommand]]
    ids: list[str]


class ResetTasks(ManyTasks, frozen=True, kw_only=True):
    single = ResetTask
    force: bool = False
    clear_all: bool = False
    status_reason: str = ""
    status_message: str = ""


class DeleteTasks(ManyTasks, frozen=True, kw_only=True):
    single = DeleteTask
    force: bool = False
    status_reason: str = ""
    status_message: str = ""


class StopTasks(ManyTasks, frozen=True, kw_only=True):
    single = StopTask
    force: bool = False
    status_reason: str = ""
    status_message: str = ""


class EnqueueTasks(ManyTasks, frozen=True, kw_only=True):
    single = EnqueueTask
    queue: Key | UnsetType = UNSET
    queue_name: Key | UnsetType = UNSET
    status_reason: str = ""
    status_message: str = ""


class DequeueTasks(ManyTasks, frozen=True, kw_only=True):
    single = DequeueTask
    new_status: Status | UnsetType = UNSET
    status_reason: str = ""
    status_message: str = ""


class PublishTasks(ManyTasks, frozen=True, kw_only=True):
    single = PublishTask
    force: bool = False
    publish_model: bool = True
    status_reason: str = ""
    status_message: str = ""


class ArchiveTasks(ManyTasks, frozen=True, kw_only=True):
    single = ArchiveTask
    status_reason: str = ""
    status_message: str = ""


class UnarchiveTasks(ManyTasks, frozen=True, kw_only=True):
    single = UnarchiveTask
    status_reason: str = ""
    status_message: str = ""


def expand(many: ManyTasks) -> list[TaskCommand]:
    """The single-task commands of a *_many command, in the order of `ids` (duplicates once)."""
    shared = {
        name: getattr(many, name)
        for name in many.__struct_fields__
        if name not in ("ids", "expected_version")
    }
    return [many.single(task=task_id, **shared) for task_id in dict.fromkeys(many.ids)]


TaskOrder = (
    EditTask
    | UpdateTask
    | SetRequirements
    | EditHyperParams
    | DeleteHyperParams
    | EditConfiguration
    | DeleteConfiguration
    | AddOrUpdateArtifacts
    | DeleteArtifacts
    | AddOrUpdateModel
    | DeleteModels
    | MarkStarted
    | MarkStopped
    | MarkCompleted
    | MarkFailed
    | CloseTask
    | StopTask
    | EnqueueTask
    | DequeueTask
    | ResetTask
    | PublishTask
    | DeleteTask
    | ArchiveTask
    | UnarchiveTask
    | PingTask
)

# Every command tasktrack takes: the one tagged union of orders.
AnyCommand = (
    TaskOrder
    | CreateTask
    | ValidateTask
    | CloneTask
    | UpdateTags
    | ReportWorkerStatus
    | AddEvents
    | CreateProject
    | ResetTasks
    | DeleteTasks
    | StopTasks
    | EnqueueTasks
    | DequeueTasks
    | PublishTasks
    | ArchiveTasks
    | UnarchiveTasks
)
