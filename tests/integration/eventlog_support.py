"""Appending as the service does it, for the event log's own tests: lock, head, check, send.

The same store functions the unit of work calls (eventlog.lock_streams, check_expected,
send_append), outside the service's pipeline so a test can read the positions back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from tasktrack.domain.events import AnyEvent
from tasktrack.domain.records import NEW_STREAM, Appended, Metadata, StreamHead
from tasktrack.store import eventlog


def read_head(conn: psycopg.Connection[Any], stream_id: str) -> StreamHead:
    """The stream's head as the log has it (the service reads it from the task row)."""
    recorded = eventlog.read_stream(conn, stream_id)
    return (
        NEW_STREAM if not recorded else StreamHead(recorded[-1].stream_version, recorded[-1].hash)
    )


def append(
    conn: psycopg.Connection[Any],
    *,
    stream_id: str,
    events: Sequence[AnyEvent],
    metadata: Metadata,
    recorded_at: datetime,
    expected_version: int | None = None,
    head: StreamHead | None = None,
) -> list[Appended]:
    """Append `events` and return where they landed. Without `head`, the stream is locked and
    its head read here; `expected_version` is checked before anything is written."""
    if not events:
        return []
    if head is None:
        eventlog.lock_streams(conn, [stream_id])
        head = read_head(conn, stream_id)
    eventlog.check_expected(stream_id, expected_version, head.version)
    pending = eventlog.send_append(
        conn,
        stream_id=stream_id,
        events=events,
        metadata=metadata,
        recorded_at=recorded_at,
        head=head,
    )
    positions = pending.cursor.fetchall()
    return [
        Appended(a.stream_version, int(p[0]), a.hash)
        for a, p in zip(pending.appended, positions, strict=True)
    ]
