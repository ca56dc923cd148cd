"""The hash chain of a stream: canonical bytes of an event and sha-256 over the previous hash.

The canonical form must come out the same from the event as written and from the row as read
back from PostgreSQL, whose jsonb keeps numbers as exact decimals but not their spelling (`1e16`
is returned as `10000000000000000`, `1.50` as `1.50`, `0.1` as `0.1`). So each number is reduced
to its exact decimal value in a normal form before hashing, keys are sorted, and the time is
rendered in UTC to the microsecond.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

GENESIS = b""

_encoder = msgspec.json.Encoder(order="sorted")


def _number(value: int | float) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        return None  # JSON cannot carry it: the encoder writes null, so that is what is stored
    if value.is_integer():
        # jsonb turns 1e16 into 10000000000000000 and 1.0 into 1.0: compare as exact integers.
        return int(Decimal(repr(value)))
    return value


def canonical(value: Any) -> Any:
    """`value` (JSON builtins) with numbers in normal form and keys as strings."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, int | float):
        return _number(value)
    return value


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_bytes(
    *,
    stream_id: str,
    stream_version: int,
    type_name: str,
    schema_version: int,
    data: Any,
    metadata: Any,
    recorded_at: datetime,
) -> bytes:
    """The canonical bytes of one event; `data` and `metadata` as JSON builtins."""
    return _encoder.encode(
        [
            stream_id,
            stream_version,
            type_name,
            schema_version,
            canonical(data),
            canonical(metadata),
            utc_text(recorded_at),
        ]
    )


def link(previous: bytes, canonical_bytes: bytes) -> bytes:
    """The event's hash: sha-256 over the previous hash of its stream and its canonical bytes."""
    return hashlib.sha256(previous + canonical_bytes).digest()
