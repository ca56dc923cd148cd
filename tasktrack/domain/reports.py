"""Sorting an events.add / add_batch body: scalars, console log lines, and every other kind.

Each event is checked on its own (a bad one is counted in errors_info and skipped). Scalars feed
the metric aggregates (domain/metrics.py); log lines are kept for events.get_task_log; plots,
images and the other kinds ClearML's SDK sends are kept as sent. Per task and request each kind
becomes one compact event in the log: the factories below build them, and `points` reads a
metrics event back, so domain/events.py holds only the facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tasktrack.domain import metrics
from tasktrack.domain.events import (
    MetricsReported,
    ModelEventsReceived,
    ModelEventsStored,
    ModelMetricsReported,
    TaskEventsReceived,
    TaskEventsStored,
    TaskLogged,
)
from tasktrack.domain.limits import too_long
from tasktrack.domain.metrics import EventIn, MalformedEvent, Point, decode_value, encode_value
from tasktrack.domain.models import ModelState
from tasktrack.domain.state import TaskState

LOG = "log"
PLOT = "plot"
IMAGE = "training_debug_image"
VECTOR = "training_stats_vector"
# The kinds ClearML takes besides scalars and log lines; any other type is refused.
OTHER_KINDS = frozenset({PLOT, IMAGE, VECTOR})
INT64 = metrics.INT64


class LogLine(msgspec.Struct, frozen=True):
    """A line of console output."""

    task: str
    timestamp: int
    level: str
    worker: str | None
    msg: str
    iter: int | None
    metric: str = ""
    variant: str = ""


class RawEvent(msgspec.Struct, frozen=True):
    """An event of another kind (plot, image, …), kept as sent (without its task field)."""

    task: str
    type: str
    body: dict[str, Any]
    iter: int | None


def _iter(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "Invalid event: iter must be an integer"
    if not INT64[0] <= value < INT64[1]:
        return "Iteration out of range (signed 64-bit)"
    return value


def _timestamp(value: Any, now_ms: int) -> int | str:
    if value is None:
        return now_ms
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Invalid event: timestamp must be a number (epoch ms)"
    if not metrics.valid_timestamp(value):
        return metrics.TIMESTAMP_ERROR
    return int(value)


def _log(raw: dict[str, Any], task: str, now_ms: int) -> LogLine | str:
    it = _iter(raw.get("iter"))
    if isinstance(it, str):
        return it
    ts = _timestamp(raw.get("timestamp"), now_ms)
    if isinstance(ts, str):
        return ts
    msg, level, worker = raw.get("msg", ""), raw.get("level", "info"), raw.get("worker")
    if not isinstance(msg, str) or not isinstance(level, str):
        return "Invalid event: msg and level must be strings"
    if worker is not None and not isinstance(worker, str):
        return "Invalid event: worker must be a string"
    names = _names(raw)
    if isinstance(names, str):
        return names
    return LogLine(
        task=task,
        timestamp=ts,
        level=level,
        worker=worker,
        msg=msg,
        iter=it,
        metric=names[0],
        variant=names[1],
    )


def _names(raw: dict[str, Any]) -> tuple[str, str] | str:
    """An event's metric and variant ("" when missing or null, as ClearML), or the error."""
    found = []
    for name in ("metric", "variant"):
        value = raw.get(name)
        if value is None:
            value = ""
        elif not isinstance(value, str) or "\x00" in value or too_long(value):
            return "Invalid event: metric and variant must be strings (no NUL, not too long)"
        found.append(value)
    return found[0], found[1]


def classify(raw: Any, now_ms: int) -> Point | LogLine | RawEvent | str:
    """The accepted event, or the message it is counted under in errors_info."""
    if isinstance(raw, MalformedEvent):
        return raw.reason
    if isinstance(raw, EventIn):
        return metrics.parse(raw, now_ms)
    if not isinstance(raw, dict):
        return "Invalid event: an event is a JSON object"
    task, kind = raw.get("task"), raw.get("type")
    if not isinstance(task, str) or not task:
        return "Missing task id"
    if "\x00" in task:
        return "Invalid task id"
    if not isinstance(kind, str) or not kind:
        return "Missing event type"
    if kind == metrics.SCALAR:
        return metrics.parse(raw, now_ms)
    if kind == LOG:
        return _log(raw, task, now_ms)
    kind = kind.replace(" ", "_")  # as ClearML
    if kind not in OTHER_KINDS:
        return f"Invalid event type {kind}"
    it = _iter(raw.get("iter"))
    if isinstance(it, str):
        return it
    names = _names(raw)
    if isinstance(names, str):
        return names
    body = {k: v for k, v in raw.items() if k != "task"}
    body["type"] = kind
    body["metric"], body["variant"] = names
    if "timestamp" not in body:
        body["timestamp"] = now_ms
    return RawEvent(task=task, type=kind, body=body, iter=it)


def is_model_event(raw: Any) -> bool:
    """An event reported against a model (ClearML's `model_event: true`, the model's id in
    `task`, or in `model`)."""
    return isinstance(raw, dict) and raw.get("model_event") is True


def as_model_event(raw: dict[str, Any]) -> dict[str, Any] | str:
    """A model event as classify reads it (`model` names the model, as ClearML), or why it is
    refused: models take no console log."""
    if raw.get("type") == LOG:
        return "Task log events are not supported for models"
    model = raw.get("model")
    if model is None:
        return raw
    return {**{k: v for k, v in raw.items() if k != "model"}, "task": model}


def model_refusal(state: ModelState | None, company: str, allow_locked: bool) -> str | None:
    """Why a model takes no reports: not one of the company's, or ready (published) unless
    the events say `allow_locked` (as ClearML)."""
    if state is None or state.deleted or state.company != company:
        return "Invalid model id"
    if state.ready and not allow_locked:
        return "Invalid model id"
    return None


def refusal(state: TaskState | None, company: str) -> str | None:
    """Why a task takes no reports, if it does not: unknown (or another company's), published,
    public."""
    if state is None or not state.visible_to(company):
        return "Invalid task id"
    if state.status in ("published", "publishing"):
        return f"Task is {state.status}: it takes no more events"
    if state.public:
        return "Task is public: it takes no events (read-only)"
    return None


# --- a request's accepted events of one task, as the log's compact events, and back --------


def metrics_reported(at: datetime, by: str, points: list[Point]) -> MetricsReported:
    """The compact event of one report's accepted points of one task (in arrival order)."""
    index: dict[tuple[str, str], int] = {}
    series: list[int] = []
    for p in points:
        series.append(index.setdefault((p.metric, p.variant), len(index)))
    return MetricsReported(
        at=at,
        by=by,
        metrics=[m for m, _ in index],
        variants=[v for _, v in index],
        series=series,
        iters=[p.iter for p in points],
        values=[encode_value(p.value) for p in points],
        timestamps=[p.timestamp for p in points],
        x_axis_labels={i: p.x_axis_label for i, p in enumerate(points) if p.x_axis_label},
    )


def model_metrics_reported(at: datetime, by: str, points: list[Point]) -> ModelMetricsReported:
    """The same columns as metrics_reported, for the model's stream."""
    return ModelMetricsReported(**msgspec.structs.asdict(metrics_reported(at, by, points)))


def model_events_reported(
    at: datetime, by: str, raw: list[RawEvent]
) -> tuple[ModelEventsReceived, ModelEventsStored]:
    received, stored = events_reported(at, by, raw)
    return (
        ModelEventsReceived(
            at=at, by=by, count=received.count, last_iteration=received.last_iteration
        ),
        ModelEventsStored(at=at, by=by, events=stored.events),
    )


def points(event: MetricsReported | ModelMetricsReported, task_id: str) -> list[Point]:
    """The points of a metrics event again, in arrival order."""
    labels = event.x_axis_labels
    return [
        Point(
            task=task_id,
            metric=event.metrics[s],
            variant=event.variants[s],
            iter=event.iters[i],
            value=decode_value(event.values[i]),
            timestamp=event.timestamps[i],
            x_axis_label=labels.get(i),
        )
        for i, s in enumerate(event.series)
    ]


def task_logged(at: datetime, by: str, lines: list[LogLine]) -> TaskLogged:
    return TaskLogged(
        at=at,
        by=by,
        timestamps=[x.timestamp for x in lines],
        levels=[x.level for x in lines],
        workers=[x.worker for x in lines],
        msgs=[x.msg for x in lines],
        iters=[x.iter for x in lines],
        # Kept only when a line names a metric or variant: most console output names none.
        metrics=[x.metric for x in lines] if any(x.metric or x.variant for x in lines) else [],
        variants=[x.variant for x in lines] if any(x.metric or x.variant for x in lines) else [],
    )


def events_reported(
    at: datetime, by: str, raw: list[RawEvent]
) -> tuple[TaskEventsReceived, TaskEventsStored]:
    """The small fact the task folds, and the payloads (kept apart: docs/architecture.md)."""
    iters = [r.iter for r in raw if r.iter is not None]
    received = TaskEventsReceived(
        at=at, by=by, count=len(raw), last_iteration=max(iters) if iters else None
    )
    return received, TaskEventsStored(at=at, by=by, events=[r.body for r in raw])
