"""A stream's state row (queues, models): its columns as statement parameters, and back."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from tasktrack.domain.records import StreamHead


def field(column: str) -> str:
    """The state's field a column holds (`user_id` is the state's `user`)."""
    return "user" if column == "user_id" else column


def state_params(
    state: Any,
    columns: Sequence[str],
    json_columns: Collection[str],
    head: StreamHead,
    head_at: datetime,
) -> list[Any]:
    """The row's parameters: the state's columns (JSON ones as jsonb, NULL kept NULL), then
    the stream head (version, hash) and when it was written."""
    params: list[Any] = []
    for column in columns:
        value = getattr(state, field(column))
        if column in json_columns and value is not None:
            value = Jsonb(msgspec.to_builtins(value))
        params.append(value)
    return [*params, head.version, head.hash, head_at]


def state_fields(values: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """A row's state columns as the state's fields (before any field's own conversion)."""
    return {field(c): values[c] for c in columns}


def stream_head(values: Mapping[str, Any]) -> StreamHead:
    return StreamHead(values["stream_version"], bytes(values["head_hash"]))
