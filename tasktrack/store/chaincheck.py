"""Recompute a stream's hash chain from the rows as stored, and report where it breaks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import chain


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    """The first event of a stream whose stored hash or version is not what the chain implies."""

    stream_id: str
    stream_version: int
    position: int
    reason: str


RAW_COLUMNS = (
    "stream_id, stream_version, position, type, schema_version, data::text, metadata::text, "
    "recorded_at, hash"
)


def check_rows(rows: Iterable[Sequence[Any]]) -> ChainBreak | None:
    """Walk one stream's raw rows (in version order) and return the first break, if any.

    Stored payloads are hashed as they are (json keeps the exact text), before any upcasting:
    the chain covers what was written, not what the current code makes of it.
    """
    previous = chain.GENESIS
    expected_version = 1
    for stream_id, version, position, type_name, schema_version, data, meta, at, digest in rows:
        if version != expected_version:
            return ChainBreak(
                stream_id=stream_id,
                stream_version=version,
                position=position,
                reason=f"version {expected_version} is missing (found {version})",
            )
        recomputed = chain.link(
            previous,
            chain.event_bytes(
                stream_id=stream_id,
                stream_version=version,
                type_name=type_name,
                schema_version=schema_version,
                data=data.encode(),
                metadata=meta.encode(),
                recorded_at=at,
            ),
        )
        if recomputed != bytes(digest):
            return ChainBreak(
                stream_id=stream_id,
                stream_version=version,
                position=position,
                reason="stored hash does not match the event's contents and its predecessor",
            )
        previous = recomputed
        expected_version += 1
    return None


def check_stream(conn: psycopg.Connection[Any], stream_id: str) -> ChainBreak | None:
    rows = conn.execute(
        f"SELECT {RAW_COLUMNS} FROM events WHERE stream_id = %s ORDER BY stream_version",
        (stream_id,),
    )
    return check_rows(rows)
