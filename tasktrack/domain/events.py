"""Every fact tasktrack records: the events of the log, one frozen tagged Struct each.

An event is named in the past tense and carries what happened, not what was asked: merged
values, resolved queue ids, the status it came from. `at` is when it happened and `by` the user
who caused it. Evolution rules (msgspec's schema-evolution guide): a field is only ever added,
with a default; a field's type never changes; a change of meaning is a new event type; an old
payload is upcast on read (domain/upcasting.py) and every type declares its `schema_version`.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any, ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.values import (
    Artifact,
    ArtifactId,
    ConfigItem,
    Configuration,
    Container,
    Execution,
    HyperParams,
    ModelType,
    Output,
    ParamItem,
    Runtime,
    Script,
    Status,
    TaskModels,
    TaskType,
)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag=True):
    """Base of all events. The tag (the class name) is the log's `type` column."""

    schema_version: ClassVar[int] = 1

    at: datetime
    by: str


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    """A move of the status machine: from, to, why, and whether the table was skipped."""

    from_status: Status
    to_status: Status
    reason: str = ""
    message: str = ""
    force: bool = False


class TaskChanges(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """New values of the fields an edit touched; embedded objects are already merged."""

    name: str | UnsetType = UNSET
    type: TaskType | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    system_tags: list[str] | UnsetType = UNSET
    parent: str | UnsetType | None = UNSET
    project: str | UnsetType | None = UNSET
    output: Output | UnsetType = UNSET
    execution: Execution | UnsetType = UNSET
    script: Script | UnsetType = UNSET
    hyperparams: HyperParams | UnsetType = UNSET
    configuration: Configuration | UnsetType = UNSET
    models: TaskModels | UnsetType = UNSET
    container: Container | UnsetType = UNSET
    runtime: Runtime | UnsetType = UNSET
    status_message: str | UnsetType = UNSET
    # A report's text and assets (reports.update): a report update is a task update.
    report: str | UnsetType = UNSET
    report_assets: list[str] | UnsetType = UNSET


# --- creation and editing ------------------------------------------------------------------


class TaskCreated(Event, frozen=True, kw_only=True):
    """A task came into being (by create or clone), in status created."""

    task_id: str
    company: str
    name: str
    type: TaskType
    comment: str = ""
    tags: list[str] = []
    system_tags: list[str] = []
    parent: str | None = None
    project: str | None = None
    output: Output | None = None
    execution: Execution | None = None
    script: Script | None = None
    hyperparams: HyperParams | None = None
    configuration: Configuration | None = None
    models: TaskModels | None = None
    container: Container | None = None
    runtime: Runtime | None = None
    cloned_from: str | None = None


class TaskEdited(Event, frozen=True, kw_only=True):
    """Fields were rewritten by `edit` (with `force` when outside status created)."""

    changes: TaskChanges
    force: bool = False


class TaskUpdated(Event, frozen=True, kw_only=True):
    """Descriptive fields were rewritten by `update` (allowed in any status)."""

    changes: TaskChanges


class TaskMoved(Event, frozen=True, kw_only=True):
    """The task now belongs to `project` (None: no project), by tasks.move."""

    project: str | None


class TaskVisibilityChanged(Event, frozen=True, kw_only=True):
    """The task was made public (read-only) or private again (tasks.make_public/private)."""

    public: bool


class TaskTagsUpdated(Event, frozen=True, kw_only=True):
    """Tags and system tags after an `update_tags`."""

    tags: list[str]
    system_tags: list[str]


class TaskRequirementsSet(Event, frozen=True, kw_only=True):
    """`script.requirements` was replaced."""

    requirements: dict[str, Any]


class HyperParamsChanged(Event, frozen=True, kw_only=True):
    """Sections of hyper parameters now hold these items; a None section was removed.

    With `replaced_all`, every section not named here was removed too.
    """

    sections: dict[str, dict[str, ParamItem] | None]
    replaced_all: bool = False
    force: bool = False


class ConfigurationChanged(Event, frozen=True, kw_only=True):
    """Configuration items now hold these values; a None item was removed.

    With `replaced_all`, every item not named here was removed too.
    """

    items: dict[str, ConfigItem | None]
    replaced_all: bool = False
    force: bool = False


class ArtifactsUpserted(Event, frozen=True, kw_only=True):
    """Artifacts were added, or replaced where (key, mode) matched."""

    artifacts: list[Artifact]


class ArtifactsDeleted(Event, frozen=True, kw_only=True):
    """Artifacts identified by (key, mode) were removed."""

    artifacts: list[ArtifactId]


class ModelUpserted(Event, frozen=True, kw_only=True):
    """An input or output model entry of this name now points at `model`.

    `in_place`: an existing entry of that name keeps its position in the list (ClearML's
    answer order); events written before the field existed moved it to the end, and replay
    keeps doing so for them.
    """

    name: str
    model: str
    model_type: ModelType
    iteration: int | None = None
    in_place: bool = False


class ModelsDeleted(Event, frozen=True, kw_only=True):
    """Input or output model entries of these names were removed."""

    names: list[str]
    model_type: ModelType


# --- the status machine ----------------------------------------------------------------------


class TaskStatusChanged(Event, frozen=True, kw_only=True):
    """The status moved without an endpoint-specific effect (edit with force, archive, publish)."""

    change: StatusChange


class TaskStarted(Event, frozen=True, kw_only=True):
    """The task went in_progress; `started` keeps the earliest time it ever started."""

    change: StatusChange


class TaskStopped(Event, frozen=True, kw_only=True):
    """The task stopped; `completed` is set (ClearML does so on stopped too)."""

    change: StatusChange


class TaskStopRequested(Event, frozen=True, kw_only=True):
    """A stop was asked of a task whose worker is live: status stays, message says stopping."""

    reason: str
    message: str


class TaskCompleted(Event, frozen=True, kw_only=True):
    """The task completed; `completed` is set."""

    change: StatusChange


class TaskFailed(Event, frozen=True, kw_only=True):
    """The task failed."""

    change: StatusChange


class TaskClosed(Event, frozen=True, kw_only=True):
    """The task was closed."""

    change: StatusChange


class TaskPublished(Event, frozen=True, kw_only=True):
    """The task was published (from publishing); `published` is set."""

    change: StatusChange


class TaskEnqueued(Event, frozen=True, kw_only=True):
    """The task entered `queue`; `enqueue_status` is the status to return to on dequeue."""

    change: StatusChange
    queue: str
    enqueue_status: Status | None


class TaskDequeued(Event, frozen=True, kw_only=True):
    """The task left its queue (dequeue, stop or archive) and went back to a prior status."""

    change: StatusChange
    queue: str | None


class TaskReset(Event, frozen=True, kw_only=True):
    """The task went back to created and its run fields were cleared (all artifacts too)."""

    change: StatusChange
    clear_all: bool = False


class TaskArchived(Event, frozen=True, kw_only=True):
    """The system tag `archived` was added."""

    reason: str = ""
    message: str = ""


class TaskUnarchived(Event, frozen=True, kw_only=True):
    """The system tag `archived` was removed."""

    reason: str = ""
    message: str = ""


class TaskDeleted(Event, frozen=True, kw_only=True):
    """The task was deleted: its stream ends here and it leaves every read model."""

    status: Status
    force: bool = False


class TaskParentDeleted(Event, frozen=True, kw_only=True):
    """This task's parent was deleted; its parent field now reads `__DELETED__<id>`."""

    parent: str


class TaskInputModelDeleted(Event, frozen=True, kw_only=True):
    """A model this task takes as input was deleted (with force): its references to it (the
    `models.input` entries, the legacy `execution.model`) now read `__DELETED__<id>`."""

    model: str


# --- metrics ------------------------------------------------------------------------------


class MetricsReported(Event, frozen=True, kw_only=True):
    """Scalar points reported for this task by one request, stored column by column.

    Point i is series `series[i]` (an index into `metrics`/`variants`), at iteration `iters[i]`
    (None when the report gave none), with value `values[i]` (NaN and infinities by name:
    "NaN", "Infinity", "-Infinity") at `timestamps[i]` (epoch ms). `x_axis_labels` maps point
    indexes to the label they carried, where one was given.
    """

    metrics: list[str]
    variants: list[str]
    series: list[int]
    iters: list[int | None]
    values: list[float | str]
    timestamps: list[int]
    x_axis_labels: dict[int, str] = {}


class TaskLogged(Event, frozen=True, kw_only=True):
    """Console output reported for this task by one request, column by column."""

    timestamps: list[int]
    levels: list[str]
    workers: list[str | None]
    msgs: list[str]
    iters: list[int | None]
    # The metric and variant of each line, when any line named one (else empty: all "").
    metrics: list[str] = []
    variants: list[str] = []


class TaskEventsDeleted(Event, frozen=True, kw_only=True):
    """events.delete_for_task: every event the task reported so far (scalars of every run,
    plots, images, console lines) leaves the read models; the log keeps them, and the task's
    last_metrics stay (as ClearML's task document keeps them)."""


class TaskLogCleared(Event, frozen=True, kw_only=True):
    """events.clear_task_log: console lines were cleared from the task's log read model (the
    log keeps them): those older than `before` (epoch ms; all if None), of the metrics in
    `include_metrics` (all if None) and not in `exclude_metrics`."""

    before: int | None = None
    include_metrics: list[str] | None = None
    exclude_metrics: list[str] | None = None


class TaskEventsReported(Event, frozen=True, kw_only=True):
    """Events of other kinds (plots, debug images, …) reported by one request, as sent."""

    events: list[dict[str, Any]]

    def iters(self) -> list[int]:
        return [e["iter"] for e in self.events if isinstance(e.get("iter"), int)]


class TaskEventsReceived(Event, frozen=True, kw_only=True):
    """One request reported `count` events of other kinds (plots, debug images, …) for this
    task; `last_iteration` is the highest iteration among them. Their payloads follow in the
    next event (TaskEventsStored): the task's own fold needs only this small fact."""

    count: int
    last_iteration: int | None = None


class TaskEventsStored(Event, frozen=True, kw_only=True):
    """The payloads of the events TaskEventsReceived counted, each as sent (without `task`).

    A plotly figure can weigh megabytes: nothing that folds a task's state reads this payload
    (eventlog reads it as an empty stub there; docs/architecture.md, "Reported events").
    """

    events: list[dict[str, Any]]


# --- liveness ------------------------------------------------------------------------------


class TaskPinged(Event, frozen=True, kw_only=True):
    """The task said it is alive."""


class TaskHandedOut(Event, frozen=True, kw_only=True):
    """The task left `queue`'s line to be run: handed to the caller of queues.get_next_task
    (`by`). On the task's stream, so that handouts from one queue lock only their tasks; the
    queue's story reads them back by `queue` (docs/architecture.md, "Exactly-once handout").
    `queue_version` is the queue stream's version when it happened (structural queue
    commands exclude handouts, so it places the handout exactly among the queue's events),
    `entered` when the task had entered the line."""

    queue: str
    queue_version: int
    entered: datetime


class WorkerReported(Event, frozen=True, kw_only=True):
    """A worker reported that it is running this task."""

    worker: str


# --- workers (stream "worker:<n>:<company>:<id>"; heartbeats are rows, not events) ------------


class WorkerRegistered(Event, frozen=True, kw_only=True):
    """A worker came up (registered, or reported while not registered) and listens to queues."""

    worker: str
    timeout: int
    queues: list[str] = []
    tags: list[str] = []
    system_tags: list[str] = []


class WorkerTookTask(Event, frozen=True, kw_only=True):
    """The worker began reporting that it runs this task (taken from `queue`, if it said)."""

    worker: str
    task: str
    queue: str | None = None


class WorkerLeftTask(Event, frozen=True, kw_only=True):
    """The worker stopped reporting this task (it reported another, none, or unregistered)."""

    worker: str
    task: str


class WorkerUnregistered(Event, frozen=True, kw_only=True):
    """The worker said it is going away."""

    worker: str


class WorkerWentSilent(Event, frozen=True, kw_only=True):
    """The worker's timeout passed without a report: it is no longer registered."""

    worker: str
    last_seen: datetime
    timeout: int


WorkerEvent = (
    WorkerRegistered | WorkerTookTask | WorkerLeftTask | WorkerUnregistered | WorkerWentSilent
)


# --- queues ---------------------------------------------------------------------------------


class QueueCreated(Event, frozen=True, kw_only=True):
    """A queue came into being (a name used for the first time by enqueue, or created)."""

    queue_id: str
    company: str
    name: str
    display_name: str | None = None
    tags: list[str] = []
    system_tags: list[str] = []
    metadata: list[MetadataItem] = []


class QueueChanges(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """New values of the fields queues.update touched (a rename is a new `name`)."""

    name: str | UnsetType = UNSET
    display_name: str | UnsetType | None = UNSET
    tags: list[str] | UnsetType = UNSET
    system_tags: list[str] | UnsetType = UNSET


class QueueUpdated(Event, frozen=True, kw_only=True):
    """The queue was renamed, retagged or given another display name."""

    changes: QueueChanges


class QueueMetadataChanged(Event, frozen=True, kw_only=True):
    """Metadata entries were added or replaced (`upserted`, by key) and removed (`deleted`)."""

    upserted: list[MetadataItem] = []
    deleted: list[str] = []
    replace: bool = False  # the upserted entries replace all the others


class QueueDeleted(Event, frozen=True, kw_only=True):
    """The queue is gone (its stream stays in the log); tasks still in it left with it."""


class QueueTaskAdded(Event, frozen=True, kw_only=True):
    """The task entered the queue, at its end."""

    task: str


class QueueTaskRemoved(Event, frozen=True, kw_only=True):
    """The task left the queue without being run (dequeued, stopped, reset, deleted, moved to
    another queue, removed by queues.remove_task or clear_queue, or its queue deleted)."""

    task: str
    reason: str = ""


class QueueTaskMoved(Event, frozen=True, kw_only=True):
    """The task now waits at `position` (0: first in line) among the queue's entries."""

    task: str
    position: int


class QueueTaskHandedOut(Event, frozen=True, kw_only=True):
    """The task left the queue to be run: handed to the caller of queues.get_next_task.
    Written on the queue's stream until handouts moved to the task's (TaskHandedOut); logs
    that have it still fold it, and a queue's story shows a TaskHandedOut as one."""

    task: str


# --- projects -------------------------------------------------------------------------------


class ProjectCreated(Event, frozen=True, kw_only=True):
    """A project came into being (names are unique within a company)."""

    project_id: str
    company: str
    name: str
    description: str = ""
    tags: list[str] = []
    system_tags: list[str] = []
    default_output_destination: str | None = None
    # The project above it (`a` for `a/b`); None at the top level and in events written before
    # nested projects (their names had no parents to point at).
    parent: str | None = None


class ProjectEdited(Event, frozen=True, kw_only=True, omit_defaults=True):
    """Descriptive fields were rewritten by projects.update (only those it names)."""

    project_id: str
    description: str | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    system_tags: list[str] | UnsetType = UNSET
    default_output_destination: str | UnsetType | None = UNSET


class ProjectRenamed(Event, frozen=True, kw_only=True):
    """The project's name changed where it stands: renamed by projects.update, or as a
    descendant of a project that was renamed or moved (`cause` names that project)."""

    project_id: str
    old_name: str
    name: str
    cause: str | None = None


class ProjectMoved(Event, frozen=True, kw_only=True):
    """The project went under another parent (None: the top level), by projects.move or as a
    child of a project merged into another (`cause` names the merged project)."""

    project_id: str
    old_name: str
    name: str
    old_parent: str | None
    parent: str | None
    cause: str | None = None


class ProjectVisibilityChanged(Event, frozen=True, kw_only=True):
    """projects.make_public / make_private: a public project is read-only."""

    project_id: str
    public: bool


class ProjectMerged(Event, frozen=True, kw_only=True):
    """The project's tasks and children went into `destination` (None: the top level) and the
    project ended (the last event of its stream)."""

    project_id: str
    destination: str | None
    moved_tasks: int
    moved_projects: int


class ProjectDeleted(Event, frozen=True, kw_only=True):
    """The project ended (the last event of its stream): deleted itself, or as a descendant of
    a deleted project (`cause`). Its tasks lost their project (their own streams say so)."""

    project_id: str
    cause: str | None = None


ProjectEvent = (
    ProjectCreated
    | ProjectEdited
    | ProjectRenamed
    | ProjectMoved
    | ProjectVisibilityChanged
    | ProjectMerged
    | ProjectDeleted
)


# --- models (a model is a stream of its own: "model:<id>", see domain/models.py) -------------


class MetadataItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One entry of a model's metadata (ClearML's {key, type, value})."""

    key: str
    type: str | None = None
    value: str | None = None


class ModelCreated(Event, frozen=True, kw_only=True):
    """A model came into being (models.create, or the first models.update_for_task)."""

    model_id: str
    company: str
    name: str
    uri: str | None = None
    task: str | None = None
    parent: str | None = None
    project: str | None = None
    comment: str = ""
    tags: list[str] = []
    system_tags: list[str] = []
    framework: str | None = None
    design: dict[str, Any] | None = None
    labels: dict[str, int] = {}
    ready: bool = False
    ui_cache: dict[str, Any] | None = None
    metadata: list[MetadataItem] = []


class ModelChanges(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """New values of the descriptive fields an edit or update touched."""

    name: str | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    system_tags: list[str] | UnsetType = UNSET
    task: str | UnsetType | None = UNSET
    parent: str | UnsetType | None = UNSET
    framework: str | UnsetType | None = UNSET
    design: dict[str, Any] | UnsetType | None = UNSET
    labels: dict[str, int] | UnsetType = UNSET
    ui_cache: dict[str, Any] | UnsetType | None = UNSET


class ModelEdited(Event, frozen=True, kw_only=True):
    """Descriptive fields of a model were rewritten (models.update / edit)."""

    changes: ModelChanges


class ModelWeightsUpdated(Event, frozen=True, kw_only=True):
    """The model's weights now live at `uri` (its UI cache is cleared with it)."""

    uri: str
    iteration: int | None = None
    ui_cache: dict[str, Any] | None = None


class ModelPublished(Event, frozen=True, kw_only=True):
    """The model was set ready (published): from now on its weights are frozen."""


class ModelUnpublished(Event, frozen=True, kw_only=True):
    """The model is no longer ready (models.edit/update with `ready: false`): its weights may
    change again."""


class ModelArchived(Event, frozen=True, kw_only=True):
    """The model got the "archived" system tag."""


class ModelUnarchived(Event, frozen=True, kw_only=True):
    """The model lost the "archived" system tag."""


class ModelMoved(Event, frozen=True, kw_only=True):
    """The model now belongs to `project` (None: no project)."""

    project: str | None


class ModelMetadataChanged(Event, frozen=True, kw_only=True):
    """Metadata entries were added or replaced (`upserted`, by key) and removed (`deleted`)."""

    upserted: list[MetadataItem] = []
    deleted: list[str] = []
    replace: bool = False  # the upserted entries replace all the others


class ModelVisibilityChanged(Event, frozen=True, kw_only=True):
    """The model was made public (readable by every company) or private again."""

    public: bool


class ModelDeleted(Event, frozen=True, kw_only=True):
    """The model is gone (its stream stays in the log)."""


class ModelTagsUpdated(Event, frozen=True, kw_only=True):
    """The model's tags after a `models.update_tags` (tags added and removed)."""

    tags: list[str]


class ModelMetricsReported(Event, frozen=True, kw_only=True):
    """Scalar points reported against this model (`model_event: true`) by one request: the
    columns of MetricsReported, in the model's stream."""

    metrics: list[str]
    variants: list[str]
    series: list[int]
    iters: list[int | None]
    values: list[float | str]
    timestamps: list[int]
    x_axis_labels: dict[int, str] = {}


class ModelEventsReceived(Event, frozen=True, kw_only=True):
    """One request reported `count` plots or debug images against this model; their payloads
    follow in ModelEventsStored (the model's fold needs only this small fact)."""

    count: int
    last_iteration: int | None = None


class ModelEventsStored(Event, frozen=True, kw_only=True):
    """The payloads of the events ModelEventsReceived counted, each as sent (without `task`);
    read as a stub wherever a model's state is folded (as TaskEventsStored)."""

    events: list[dict[str, Any]]


ModelEvent = (
    ModelCreated
    | ModelEdited
    | ModelWeightsUpdated
    | ModelPublished
    | ModelUnpublished
    | ModelArchived
    | ModelUnarchived
    | ModelMoved
    | ModelMetadataChanged
    | ModelVisibilityChanged
    | ModelDeleted
    | ModelTagsUpdated
    | ModelMetricsReported
    | ModelEventsReceived
    | ModelEventsStored
)


class TaskIterationReached(Event, frozen=True, kw_only=True):
    """A model of this task reported an iteration: the task's last_iteration is at least it."""

    iteration: int


TaskEvent = (
    TaskCreated
    | TaskEdited
    | TaskUpdated
    | TaskMoved
    | TaskVisibilityChanged
    | TaskTagsUpdated
    | TaskRequirementsSet
    | HyperParamsChanged
    | ConfigurationChanged
    | ArtifactsUpserted
    | ArtifactsDeleted
    | ModelUpserted
    | ModelsDeleted
    | TaskStatusChanged
    | TaskStarted
    | TaskStopped
    | TaskStopRequested
    | TaskCompleted
    | TaskFailed
    | TaskClosed
    | TaskPublished
    | TaskEnqueued
    | TaskDequeued
    | TaskReset
    | TaskArchived
    | TaskUnarchived
    | TaskDeleted
    | TaskParentDeleted
    | TaskInputModelDeleted
    | TaskPinged
    | TaskHandedOut
    | WorkerReported
    | MetricsReported
    | TaskLogged
    | TaskEventsReported
    | TaskIterationReached
    | TaskEventsReceived
    | TaskEventsStored
    | TaskLogCleared
    | TaskEventsDeleted
)

QueueEvent = (
    QueueCreated
    | QueueUpdated
    | QueueMetadataChanged
    | QueueDeleted
    | QueueTaskAdded
    | QueueTaskRemoved
    | QueueTaskMoved
    | QueueTaskHandedOut
)

# --- serving containers (stream "serving:<n>:<company>:<id>"; status reports are rows) -------


class ServingContainerRegistered(Event, frozen=True, kw_only=True):
    """A model-serving container came up (registered, or reported while not registered) to
    serve `model_name` at `endpoint_url` (None while it is still loading)."""

    container: str
    endpoint_name: str
    model_name: str
    endpoint_url: str | None = None
    timeout: int


class ServingContainerUnregistered(Event, frozen=True, kw_only=True):
    """The container said it is going away."""

    container: str


ServingEvent = ServingContainerRegistered | ServingContainerUnregistered

# --- the file server (one stream per company: "files:<n>:<company>"; the bytes stay on disk) --


class FileStored(Event, frozen=True, kw_only=True):
    """A file was uploaded to the file server (a new one, or a replacement of `path`)."""

    path: str
    size: int
    sha256: str


class FileDeleted(Event, frozen=True, kw_only=True):
    """A file was deleted from the file server."""

    path: str


FileEvent = FileStored | FileDeleted


# Every event type the log can hold: the one tagged union all decoding goes through.
AnyEvent = (
    TaskEvent | QueueEvent | ProjectEvent | ModelEvent | WorkerEvent | ServingEvent | FileEvent
)


# The events of task streams (queue and project streams have their own).
TASK_EVENTS: tuple[type[Event], ...] = typing.get_args(TaskEvent)
# The events of model streams (domain/models.py folds them).
MODEL_EVENTS: tuple[type[Event], ...] = typing.get_args(ModelEvent)
PROJECT_EVENTS: tuple[type[Event], ...] = typing.get_args(ProjectEvent)
WORKER_EVENTS: tuple[type[Event], ...] = typing.get_args(WorkerEvent)
# The events of queue streams (domain/queues.py folds them).
QUEUE_EVENTS: tuple[type[Event], ...] = typing.get_args(QueueEvent)
# The events of serving containers' streams (their status reports are rows: domain/serving.py).
SERVING_EVENTS: tuple[type[Event], ...] = typing.get_args(ServingEvent)
# The events of a company's files stream (no read model folds them: docs/architecture.md).
FILE_EVENTS: tuple[type[Event], ...] = typing.get_args(FileEvent)


_KINDS: dict[type[Event], str] = {
    **dict.fromkeys(TASK_EVENTS, "task"),
    **dict.fromkeys(MODEL_EVENTS, "model"),
    **dict.fromkeys(PROJECT_EVENTS, "project"),
    **dict.fromkeys(WORKER_EVENTS, "worker"),
    **dict.fromkeys(QUEUE_EVENTS, "queue"),
    **dict.fromkeys(SERVING_EVENTS, "serving"),
    **dict.fromkeys(FILE_EVENTS, "file"),
}


def stream_kind(event: AnyEvent) -> str:
    """The kind of stream an event belongs to: "task", "model", "project", "worker", "queue",
    "serving" or "file"."""
    return _KINDS[type(event)]


def status_change(event: AnyEvent) -> StatusChange | None:
    """The status move an event records, if any (each event moves the status at most once)."""
    change = getattr(event, "change", None)
    return change if isinstance(change, StatusChange) else None


def event_type_name(event_class: type[Event]) -> str:
    tag = event_class.__struct_config__.tag
    assert isinstance(tag, str)
    return tag
