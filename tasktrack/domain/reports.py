"""Sorting an events.add / add_batch body: scalars, console log lines, and every other kind.

Each event is checked on its own (a bad one is counted in errors_info and skipped). Scalars feed
the metric aggregates (domain/metrics.py); log lines are kept for events.get_task_log; plots,
images and the other kinds ClearML's SDK sends are kept as sent. Per task and request each kind
becomes one compact event in the log.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain import metrics
from tasktrack.domain.metrics import EventIn, MalformedEvent, Point

LOG = "log"
INT64 = metrics.INT64


class LogLine(msgspec.Struct, frozen=True):
    """A line of console output."""

    task: str
    timestamp: int
    level: str
    worker: str | None
    msg: str
    iter: int | None


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
    return LogLine(task=task, timestamp=ts, level=level, worker=worker, msg=msg, iter=it)


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
    it = _iter(raw.get("iter"))
    if isinstance(it, str):
        return it
    return RawEvent(
        task=task, type=kind, body={k: v for k, v in raw.items() if k != "task"}, iter=it
    )
