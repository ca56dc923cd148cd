"""The task fields get_all's filters and orders may name, and the column each one reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, literal_column, type_coerce

from tasktrack.store.tables import tasks

Condition = ColumnElement[bool]

# Every field a filter or an order may name -> its column. Names come from these fixed maps
# only; user text only ever reaches SQL as bound values. The literal key keeps the expression
# identical to an expression index on (execution ->> 'queue').
_QUEUE = type_coerce(tasks.c.execution.op("->>")(literal_column("'queue'")), Text)
_PLAIN = (
    "id",
    "name",
    "type",
    "status",
    "comment",
    "project",
    "parent",
    "tags",
    "system_tags",
    "created",
    "started",
    "completed",
    "published",
    "active_duration",
    "status_changed",
    "status_message",
    "status_reason",
    "last_worker",
    "last_worker_report",
    "last_update",
    "last_change",
    "last_changed_by",
    "last_iteration",
    "report",
)
COLUMNS: dict[str, ColumnElement[Any]] = {
    **{name: tasks.c[name] for name in _PLAIN},
    "user": tasks.c.user_id,
    "execution.queue": _QUEUE,
}
ARRAYS = frozenset({"tags", "system_tags"})
# Never null nor empty (NOT NULL columns; a name has at least 3 characters).
NEVER_MISSING = frozenset({"id", "name", "user", "type", "status", "created"})
TEXTS = frozenset(
    {"id", "name", "user", "type", "status", "comment", "project", "parent", "execution.queue"}
    | {"status_message", "status_reason", "last_worker", "last_changed_by", "report"}
)
