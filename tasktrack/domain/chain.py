"""The hash chain of a stream: the bytes an event is hashed over, and the link to its predecessor.

Payloads are stored as `json` (the exact text written), so the hash covers the stored bytes as
they are: no canonical re-encoding, nothing to drift between the writer and the verifier. The
envelope (stream, version, type, schema version, time in UTC to the microsecond) is encoded
alongside, and every part is length-prefixed so no two events share their bytes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

GENESIS = b""

_encoder = msgspec.json.Encoder()


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_bytes(
    *,
    stream_id: str,
    stream_version: int,
    type_name: str,
    schema_version: int,
    data: bytes,
    metadata: bytes,
    recorded_at: datetime,
) -> bytes:
    """The bytes one event is hashed over; `data` and `metadata` exactly as stored."""
    head = _encoder.encode(
        [stream_id, stream_version, type_name, schema_version, utc_text(recorded_at)]
    )
    return b"".join(len(part).to_bytes(8, "big") + part for part in (head, data, metadata))


def link(previous: bytes, event: bytes) -> bytes:
    """The event's hash: sha-256 over the previous hash of its stream and the event's bytes."""
    return hashlib.sha256(previous + event).digest()
