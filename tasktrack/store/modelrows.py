"""A model's row in `models`: the columns, and converting between a row and a ModelState."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain.events import MetadataItem
from tasktrack.domain.models import ModelState
from tasktrack.domain.records import StreamHead
from tasktrack.store.staterows import state_fields, state_params, stream_head

# The state's columns, in table order (the head's three follow).
STATE_COLUMNS = (
    "company",
    "id",
    "name",
    "user_id",
    "created",
    "last_update",
    "last_change",
    "last_changed_by",
    "uri",
    "task",
    "parent",
    "project",
    "comment",
    "tags",
    "system_tags",
    "framework",
    "design",
    "labels",
    "ready",
    "ui_cache",
    "metadata",
    "last_iteration",
    "public",
)
COLUMNS = (*STATE_COLUMNS, "stream_version", "head_hash", "head_at")
SELECT_LIST = ", ".join(COLUMNS)
_JSON = {"design", "labels", "ui_cache", "metadata"}


class ModelRow(msgspec.Struct, frozen=True):
    state: ModelState
    head: StreamHead
    head_at: datetime


def row_params(state: ModelState, head: StreamHead, head_at: datetime) -> list[Any]:
    return state_params(state, STATE_COLUMNS, _JSON, head, head_at)


def from_row(row: Sequence[Any]) -> ModelRow:
    values = dict(zip(COLUMNS, row, strict=True))
    fields = state_fields(values, STATE_COLUMNS)
    fields["metadata"] = msgspec.convert(fields["metadata"], list[MetadataItem])
    state = ModelState(**fields)
    head = stream_head(values)
    return ModelRow(state=state, head=head, head_at=values["head_at"])


def load(
    conn: psycopg.Connection[Any], company: str, ids: Iterable[str], table: str = "models"
) -> dict[str, ModelRow]:
    """The rows of these models of `company` (missing ids are absent from the answer)."""
    return load_keys(conn, [(company, i) for i in ids], table)


def load_keys(
    conn: psycopg.Connection[Any], keys: Iterable[tuple[str, str]], table: str = "models"
) -> dict[str, ModelRow]:
    """The rows of these (company, model id) keys, by model id."""
    wanted = list(keys)
    if not wanted:
        return {}
    # One tenant's keys (a command's) are read as `company = … AND id = ANY(…)`: on Citus,
    # its shard alone.
    params: tuple[Any, ...]
    if len({k[0] for k in wanted}) == 1:
        where, params = (
            "company = %s AND id = ANY(%s::text[])",
            (wanted[0][0], [k[1] for k in wanted]),
        )
    else:
        where = "(company, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        params = ([k[0] for k in wanted], [k[1] for k in wanted])
    cursor = conn.execute(f"SELECT {SELECT_LIST} FROM {table} WHERE {where}", params)
    return {r[1]: from_row(r) for r in cursor.fetchall()}


@functools.cache  # one per table name: projectors are made per command
def upsert_sql(table: str) -> str:
    marks = ", ".join(["%s"] * len(COLUMNS))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("company", "id"))
    return (
        f"INSERT INTO {table} ({SELECT_LIST}) VALUES ({marks}) "
        f"ON CONFLICT (company, id) DO UPDATE SET {updates}"
    )
