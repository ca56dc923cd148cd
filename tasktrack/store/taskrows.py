"""The `tasks` row <-> TaskState mapping, shared by the projector (writes) and queries (reads)."""

from __future__ import annotations

import functools
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


def changed_params(
    before: TaskState, after: TaskState, head: StreamHead, head_at: datetime
) -> tuple[tuple[int, ...], list[Any]]:
    """The fields (indexes into FIELDS) that differ between two states of one task, and the
    parameters of `update_sql` for them: a status change rewrites a dozen columns, not 40.

    Conservative, never lenient: a JSON field counts as changed unless it is the same object
    (evolve keeps the unchanged ones; equal dicts may still encode differently, 1 against
    1.0), any other one unless equal and of the same type (True == 1, 1 == 1.0).
    """
    old, new = _fields(before), _fields(after)
    changed: list[int] = []
    values: list[Any] = []
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a is b or (i not in _JSON_SET and type(a) is type(b) and a == b):
            continue
        changed.append(i)
        values.append(_encoder.encode(b).decode() if i in _JSON_SET and b is not None else b)
    # The version guard: the row must be the one `before` was read from (see update_sql).
    values.extend([before.version, after.version, head.hash, head_at, after.company, after.id])
    return tuple(changed), values


_JSON_SET = frozenset(_JSON_AT)


@functools.lru_cache(maxsize=256)
def update_sql(table: str, changed: tuple[int, ...]) -> str:
    """UPDATE of the `changed` fields of one stored row and its stream head (parameters:
    `changed_params`). The new version is set only where the row is still at the old one:
    a row that is not the state the diff was made against would get a NULL version and
    the NOT NULL constraint refuses it, failing the command rather than leaving a row that
    is not its stream's fold."""
    sets = [
        f"{COLUMNS[i]} = %s::jsonb" if FIELDS[i] in JSON_FIELDS else f"{COLUMNS[i]} = %s"
        for i in changed
    ]
    sets.append("stream_version = CASE WHEN stream_version = %s THEN %s END")
    sets.append("head_hash = %s")
    sets.append("head_at = %s")
    return f"UPDATE {table} SET {', '.join(sets)} WHERE company = %s AND id = %s"


def state_from_row(row: Sequence[Any]) -> TaskRow:
    data = dict(zip(FIELDS, row[: len(FIELDS)], strict=True))
    version, head_hash, head_at = row[len(FIELDS) :]
    data["version"] = version
    state = msgspec.convert(data, TaskState, from_attributes=False)
    return TaskRow(state=state, head=StreamHead(version, bytes(head_hash)), head_at=head_at)
