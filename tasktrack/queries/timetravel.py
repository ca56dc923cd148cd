"""A task as it was at any moment: its stream replayed (upcasters applied) up to a version or
a time, last_metrics included. Works for deleted tasks too, for moments before the deletion."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain import metrics, reports
from tasktrack.domain.errors import InvalidRequest, TaskNotFound
from tasktrack.domain.evolve import fold
from tasktrack.domain.state import TaskState
from tasktrack.queries.views import LastMetrics, LastMetricsEvent, TaskView, task_view
from tasktrack.store import eventlog


def parse_as_of(value: Any) -> datetime | int:
    """`as_of` is a stream version (an integer) or an ISO 8601 time with a timezone."""
    if isinstance(value, bool):
        raise InvalidRequest("Validation error: as_of is a version or an ISO time")
    if isinstance(value, int):
        if value < 1:
            raise InvalidRequest("Validation error: as_of version must be >= 1")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_as_of(int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"Validation error: as_of {value!r} is not an ISO time") from None
        if moment.tzinfo is None:
            raise InvalidRequest("Validation error: as_of needs a timezone (e.g. Z or +00:00)")
        return moment
    raise InvalidRequest("Validation error: as_of is a version or an ISO time")


def _last_metrics(records: list[ev.AnyEvent], task_id: str) -> LastMetrics:
    """The aggregate folded in Python from the reports (the same rules as the projector)."""
    stats: dict[tuple[str, str], metrics.Stats] = {}
    for event in records:
        if isinstance(event, ev.TaskReset | ev.TaskDeleted):
            stats.clear()
        elif isinstance(event, ev.MetricsReported):
            for key, batch in metrics.batch_stats(reports.points(event, task_id)).items():
                if key not in stats and len(stats) >= metrics.MAX_PAIRS_PER_TASK:
                    continue  # the cap admits new pairs in order of first appearance
                stats[key] = metrics.combine(stats.get(key), batch)
    out: LastMetrics = {}
    for (metric, variant), s in stats.items():
        m_hash = hashlib.md5(metric.encode()).hexdigest()  # noqa: S324 - ClearML's key, not security
        v_hash = hashlib.md5(variant.encode()).hexdigest()  # noqa: S324
        out.setdefault(m_hash, {})[v_hash] = LastMetricsEvent(
            metric=metric,
            variant=variant,
            value=s.value,
            min_value=s.min_value,
            min_value_iteration=s.min_value_iteration,
            max_value=s.max_value,
            max_value_iteration=s.max_value_iteration,
            first_value=s.first_value,
            first_value_iteration=s.first_value_iteration,
            count=s.count,
            mean_value=s.mean_value,
            x_axis_label=s.x_axis_label,
        )
    return out


def task_as_of(
    conn: psycopg.Connection[Any], company: str, task_id: str, as_of: datetime | int
) -> TaskView:
    """400/101 if the task (of this company) did not exist then, or had been deleted."""
    if isinstance(as_of, int):
        records = eventlog.read_stream(conn, task_id, to_version=as_of, payloads=False)
    else:
        records = eventlog.read_stream(conn, task_id, until=as_of, payloads=False)
    events = [r.event for r in records]
    if not events or not isinstance(events[0], ev.TaskCreated):
        raise TaskNotFound(task_id)
    state: TaskState | None = fold(events)
    if state is None or not state.visible_to(company):
        raise TaskNotFound(task_id)
    return task_view(state, _last_metrics(events, task_id))
