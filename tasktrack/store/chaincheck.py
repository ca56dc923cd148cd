"""Recompute a stream's hash chain from the rows as stored, and report where it breaks."""

from __future__ import annotations

from collections import Counter
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
    "stream_id, stream_version, position, chain, company, type, schema_version, data::text, "
    "metadata::text, recorded_at, hash"
)


def as_link(row: Sequence[Any]) -> chain.Link:
    """A stored row (RAW_COLUMNS) as the chain sees it."""
    stream_id, version, _pos, rule, company, type_name, schema, data, meta, at, digest = row
    return chain.Link(
        stream_id=stream_id,
        stream_version=version,
        rule=rule,
        company=company,
        type_name=type_name,
        schema_version=schema,
        data=data.encode(),
        metadata=meta.encode(),
        recorded_at=at,
        hash=bytes(digest),
    )


def check_rows(
    rows: Iterable[Sequence[Any]], rules: Counter[int] | None = None
) -> ChainBreak | None:
    """Walk one stream's raw rows (RAW_COLUMNS, in version order) and return the first break.

    Stored payloads are hashed as they are (json keeps the exact text), before any upcasting:
    the chain covers what was written, not what the current code makes of it. `rules` counts
    the events verified under each hash-chain rule.
    """
    head: chain.Head | None = None
    for row in rows:
        event = as_link(row)
        try:
            head = chain.follow(head, event)
        except chain.Broken as exc:
            return ChainBreak(
                stream_id=event.stream_id,
                stream_version=event.stream_version,
                position=row[2],
                reason=str(exc),
            )
        if rules is not None:
            rules[event.rule] += 1
    return None


def check_stream(conn: psycopg.Connection[Any], stream_id: str) -> ChainBreak | None:
    rows = conn.execute(
        f"SELECT {RAW_COLUMNS} FROM events WHERE stream_id = %s ORDER BY stream_version",
        (stream_id,),
    )
    return check_rows(rows)
