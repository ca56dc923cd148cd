"""The status analytics views (migration 0009) as lightweight `table()` constructs, and their rows.

The views are defined in the migration only; these constructs just name their columns for
SQLAlchemy Core (they are not part of the metadata, so nothing can create them by accident).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnClause,
    DateTime,
    Double,
    Integer,
    Text,
    column,
    table,
)

from tasktrack.domain.values import Status


def _task() -> list[ColumnClause[Any]]:
    """The columns every view starts with (fresh ones: a column belongs to one table)."""
    return [
        column("task_id", Text),
        column("company", Text),
        column("project", Text),
        column("type", Text),
        column("user_id", Text),
    ]


intervals = table(
    "task_status_intervals",
    *_task(),
    column("seq", Integer),
    column("version", Integer),
    column("status", Text),
    column("entered_at", DateTime(timezone=True)),
    column("left_at", DateTime(timezone=True)),
    column("next_status", Text),
    column("entered_by", Text),
    column("seconds", Double),
    column("seconds_so_far", Double),
)

durations = table(
    "task_status_durations",
    *_task(),
    column("status", Text),
    column("entries", BigInteger),
    column("seconds", Double),
    column("seconds_so_far", Double),
    column("is_current", Boolean),
    column("first_entered_at", DateTime(timezone=True)),
    column("last_entered_at", DateTime(timezone=True)),
)

queue_waits = table(
    "task_queue_waits",
    *_task(),
    column("queued_at", DateTime(timezone=True)),
    column("left_at", DateTime(timezone=True)),
    column("next_status", Text),
    column("started_at", DateTime(timezone=True)),
    column("wait_seconds", Double),
    column("seconds", Double),
    column("seconds_so_far", Double),
    column("entries", BigInteger),
)


class StatusInterval(msgspec.Struct, frozen=True, kw_only=True):
    """One stay of a task in a status, [entered_at, left_at); left_at is None while it lasts."""

    task_id: str
    project: str | None
    type: str
    user_id: str  # the task's owner
    seq: int  # 0 for the first (created) interval, then one per status change
    version: int  # stream version of the event that entered the status (1: the creation)
    status: Status
    entered_at: datetime
    left_at: datetime | None
    next_status: Status | None
    entered_by: str  # who made the change (the creator for the first interval)
    seconds: float | None  # None while open
    seconds_so_far: float  # up to now while open


class StatusDuration(msgspec.Struct, frozen=True, kw_only=True):
    """How often a task entered a status and how long it stayed (closed intervals)."""

    task_id: str
    project: str | None
    type: str
    user_id: str
    status: Status
    entries: int
    seconds: float
    seconds_so_far: float  # the open interval counted up to now
    is_current: bool
    first_entered_at: datetime
    last_entered_at: datetime


class QueueWait(msgspec.Struct, frozen=True, kw_only=True):
    """One visit of a task to the queue (consecutive queued intervals), and how it ended."""

    task_id: str
    project: str | None
    type: str
    user_id: str
    queued_at: datetime
    left_at: datetime | None  # None while still queued
    next_status: Status | None
    started_at: datetime | None  # left_at, when the visit ended in in_progress
    wait_seconds: float | None  # started_at - queued_at
    seconds: float | None  # time in the queue (None while still queued)
    seconds_so_far: float
    entries: int  # queued intervals in the visit (> 1: moved between queues)


class StatusSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Intervals of one status entered within one group (a project, type, user or UTC day)."""

    group: str | None  # None: tasks without a project
    status: Status
    entries: int
    open_entries: int
    seconds: float  # closed intervals
    seconds_so_far: float  # open intervals counted up to now
    mean_seconds: float | None  # of the closed intervals
    max_seconds: float | None


class TaskInStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A task that was in the asked status at the asked time, and its stay there."""

    task_id: str
    project: str | None
    type: str
    user_id: str
    entered_at: datetime
    left_at: datetime | None
