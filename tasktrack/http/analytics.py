"""The `analytics.*` endpoints: their request bodies, what they run, and their declarations.

Company and user come from the credential; times are ISO 8601 with a zone (a naive one is
400/12), days `YYYY-MM-DD`. See docs/analytics.md for what each answer's fields mean.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tasktrack.domain.values import Status
from tasktrack.http.calls import Call, Spec
from tasktrack.queries.analytics import DEFAULT_LIMIT, GroupBy


class StatusIntervals(msgspec.Struct, frozen=True, kw_only=True):
    """Intervals of one task, or of the company's tasks, entered within a window."""

    task: str | None = None
    project: str | None = None
    status: Status | None = None
    since: datetime | None = None  # entered at or after
    until: datetime | None = None  # entered before
    limit: int = DEFAULT_LIMIT


class StatusDurations(msgspec.Struct, frozen=True, kw_only=True):
    """Per task and status totals, of one task or of the company's tasks."""

    task: str | None = None
    project: str | None = None
    status: Status | None = None
    limit: int = DEFAULT_LIMIT


class QueueWaits(msgspec.Struct, frozen=True, kw_only=True):
    """Visits to the queue queued within a window (started_only: those that ran)."""

    task: str | None = None
    project: str | None = None
    since: datetime | None = None  # queued at or after
    until: datetime | None = None  # queued before
    started_only: bool = False
    limit: int = DEFAULT_LIMIT


class QueueLineWaits(msgspec.Struct, frozen=True, kw_only=True):
    """Stays in a queue's line (or every queue's), from the queues' streams, by entering time."""

    queue: str | None = None  # an id or a name
    since: datetime | None = None  # entered at or after
    until: datetime | None = None  # entered before
    limit: int = DEFAULT_LIMIT


class StatusSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Totals per group (project, type, user or UTC day) and status."""

    group_by: GroupBy = "project"
    project: str | None = None
    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None


class GetProjectActivity(msgspec.Struct, frozen=True, kw_only=True):
    """Per project and UTC day, from the activity_daily rollup: days from since to until, both
    included, each a day `YYYY-MM-DD` or an ISO time with a zone (the UTC day it falls in)."""

    project: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = DEFAULT_LIMIT


class TasksInStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The tasks in `status` at the moment `at`."""

    status: Status
    at: datetime


def _fields(body: msgspec.Struct) -> dict[str, Any]:
    return {name: getattr(body, name) for name in body.__struct_fields__}


def _intervals(call: Call, body: StatusIntervals) -> Any:
    return {"intervals": call.client.status_intervals(**_fields(body))}


def _durations(call: Call, body: StatusDurations) -> Any:
    return {"durations": call.client.status_durations(**_fields(body))}


def _queue_waits(call: Call, body: QueueWaits) -> Any:
    return {"waits": call.client.queue_waits(**_fields(body))}


def _line_waits(call: Call, body: QueueLineWaits) -> Any:
    return {"waits": call.client.queue_line_waits(**_fields(body))}


def _summary(call: Call, body: StatusSummary) -> Any:
    return {"group_by": body.group_by, "summary": call.client.status_summary(**_fields(body))}


def _in_status(call: Call, body: TasksInStatus) -> Any:
    found = call.client.tasks_in_status(body.status, body.at)
    return {"status": body.status, "at": body.at, "tasks": found}


def _activity(call: Call, body: GetProjectActivity) -> Any:
    return call.client.project_activity(**_fields(body))


ENDPOINTS = [
    Spec(
        name="analytics.status_intervals",
        request=StatusIntervals,
        run=_intervals,
        summary="Each stay of a task in a status, [entered_at, left_at)",
    ),
    Spec(
        name="analytics.status_durations",
        request=StatusDurations,
        run=_durations,
        summary="Per task and status: entries and seconds spent",
    ),
    Spec(
        name="analytics.queue_waits",
        request=QueueWaits,
        run=_queue_waits,
        summary="Each visit to the queue: queued_at, started_at, wait_seconds",
    ),
    Spec(
        name="analytics.status_summary",
        request=StatusSummary,
        run=_summary,
        summary="Per project, type, user or UTC day, and status: entries and seconds",
    ),
    Spec(
        name="analytics.tasks_in_status",
        request=TasksInStatus,
        run=_in_status,
        summary="The tasks that were in a status at a moment",
    ),
    Spec(
        name="analytics.get_project_activity",
        request=GetProjectActivity,
        run=_activity,
        summary="Per project and UTC day: tasks created, status changes, completions, failures "
        "and metric reports (the activity_daily rollup, as of its projector's checkpoint)",
    ),
    Spec(
        name="analytics.queue_line_waits",
        request=QueueLineWaits,
        run=_line_waits,
        summary="Each stay in a queue's line, from its stream: wait, how it left, to which worker",
    ),
]
