"""The `tasks` row <-> TaskState mapping, shared by the projector (writes) and queries (reads)."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from tasktrack.domain.records import StreamHead
from tasktrack.domain.state import TaskState

JSON_FIELDS = (
    "output",
    "execution",
    "container",
    "models",
    "script",
    "hyperparams",
    "configuration",
    "runtime",
)
# TaskState field -> column (the state's `user` is the column user_id), in the table's order
# but `public`, `report` and `report_assets`, which the table has last.
FIELDS = (
    "id",
    "company",
    "user",
    "name",
    "type",
    "status",
    "comment",
    "created",
    "started",
    "completed",
    "active_duration",
    "parent",
    "project",
    "output",
    "execution",
    "container",
    "models",
    "script",
    "tags",
    "system_tags",
    "status_changed",
    "status_message",
    "status_reason",
    "published",
    "last_worker",
    "last_worker_report",
    "last_update",
    "last_change",
    "last_changed_by",
    "last_iteration",
    "hyperparams",
    "configuration",
    "runtime",
    "enqueue_status",
    "public",
    "report",
    "report_assets",
)
COLUMNS = (
    *("user_id" if f == "user" else f for f in FIELDS),
    "stream_version",
    "head_hash",
    "head_at",
)
SELECT_LIST = ", ".join(COLUMNS)

_encoder = msgspec.json.Encoder()


class TaskRow(msgspec.Struct, frozen=True):
    """A task's state and the head of its stream, as stored."""

    state: TaskState
    head: StreamHead
    head_at: datetime


def placeholders() -> str:
    return ", ".join("%s::jsonb" if c in JSON_FIELDS else "%s" for c in COLUMNS)


# Every field in one C call, then the JSON ones encoded (a replay makes a row per task).
_fields = operator.attrgetter(*FIELDS)
_JSON_AT = tuple(i for i, f in enumerate(FIELDS) if f in JSON_FIELDS)


def row_params(state: TaskState, head: StreamHead, head_at: datetime) -> list[Any]:
    values: list[Any] = list(_fields(state))
    for i in _JSON_AT:
        if values[i] is not None:
            values[i] = _encoder.encode(values[i]).decode()
    values.extend([state.version, head.hash, head_at])
    return values


def state_from_row(row: Sequence[Any]) -> TaskRow:
    data = dict(zip(FIELDS, row[: len(FIELDS)], strict=True))
    version, head_hash, head_at = row[len(FIELDS) :]
    data["version"] = version
    state = msgspec.convert(data, TaskState, from_attributes=False)
    return TaskRow(state=state, head=StreamHead(version, bytes(head_hash)), head_at=head_at)
