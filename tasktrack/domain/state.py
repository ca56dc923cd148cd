"""The state of one task: every field of ClearML's task object, plus its stream version."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tasktrack.domain.values import (
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

DELETED_PARENT_PREFIX = "__DELETED__"
LIVE_WORKER_SECONDS = 600


class TaskState(msgspec.Struct, frozen=True, kw_only=True):
    """A task as the fold of its stream (and as the `tasks` row stores it)."""

    id: str
    company: str
    user: str
    name: str
    type: TaskType
    status: Status = "created"
    comment: str = ""
    created: datetime
    started: datetime | None = None
    completed: datetime | None = None
    active_duration: int | None = None
    parent: str | None = None
    project: str | None = None
    output: Output | None = None
    execution: Execution | None = None
    container: Container | None = None
    models: TaskModels | None = None
    script: Script | None = None
    tags: list[str] = []
    system_tags: list[str] = []
    status_changed: datetime | None = None
    status_message: str | None = None
    status_reason: str | None = None
    published: datetime | None = None
    last_worker: str | None = None
    last_worker_report: datetime | None = None
    last_update: datetime | None = None
    last_change: datetime | None = None
    last_changed_by: str | None = None
    last_iteration: int = 0
    hyperparams: HyperParams | None = None
    configuration: Configuration | None = None
    runtime: Runtime | None = None
    enqueue_status: Status | None = None
    # Made public (tasks.make_public): read-only for everyone, the owner included, until the
    # owner makes it private again.
    public: bool = False
    # A report's text and the files it shows (reports.create/update); None on other tasks.
    report: str | None = None
    report_assets: list[str] | None = None
    version: int = 0
    deleted: bool = False

    @property
    def queue(self) -> str | None:
        """The queue the task is in (tasktrack clears it whenever the task leaves)."""
        if self.execution is None or not isinstance(self.execution.queue, str):
            return None
        return self.execution.queue or None

    def visible_to(self, company: str) -> bool:
        """The one visibility rule: a deleted task, or another company's, is not there at all
        (commands, reports and reads all answer as for an unknown id)."""
        return not self.deleted and self.company == company

    @property
    def archived(self) -> bool:
        return "archived" in self.system_tags

    def has_live_worker(self, now: datetime) -> bool:
        """A worker reported on this task within the last 600 s (what `stop` asks)."""
        if not self.last_worker or self.last_worker_report is None:
            return False
        return (now - self.last_worker_report).total_seconds() < LIVE_WORKER_SECONDS
