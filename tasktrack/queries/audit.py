"""For auditors: every stream's hash chain checked, anchors over all stream heads, and a task's
status timeline read from the log alone (deleted tasks included).

An anchor is taken at the commit-safe end of the log, `(tx, position)`: every event at or before
it had committed when it was taken, and no event can ever appear there later. It digests the
head (version and hash) of every stream as of that point. Recomputed later, the digest differs
if any event that existed then was removed or altered, or a whole stream was deleted; each head
hash already covers its stream's whole history through the chain.

An anchor of one tenant (`company`) is taken the same way in that tenant's commit-safe order:
the only anchor a log sharded by tenant (Citus) has, whose order is per tenant
(docs/architecture.md, "Citus"); verifying it needs the same tenant.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Checkpoint
from tasktrack.store import chaincheck, eventlog
from tasktrack.store.chaincheck import ChainBreak

SCAN_BATCH = 5000


class Anchor(msgspec.Struct, frozen=True, kw_only=True):
    tx: int
    position: int
    streams: int
    digest: str

    def __str__(self) -> str:
        return f"{self.tx}:{self.position}:{self.streams}:{self.digest}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        try:
            tx, position, streams, digest = text.strip().split(":")
            anchor = cls(tx=int(tx), position=int(position), streams=int(streams), digest=digest)
        except ValueError:
            raise ValueError(
                f"not an anchor: {text!r} (expected tx:position:streams:digest)"
            ) from None
        if len(anchor.digest) != 64:
            raise ValueError(f"not an anchor: {text!r} (the digest is 64 hex characters)")
        return anchor


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    version: int
    at: datetime
    user: str
    from_status: str
    to_status: str
    reason: str
    message: str
    force: bool
    hash: str


def _tenant(company: str | None) -> tuple[str, list[Any]]:
    """A filter holding a statement to one tenant's events (none for the whole log)."""
    return ("", []) if company is None else (" AND company = %s", [company])


def _streams(
    conn: psycopg.Connection[Any], company: str | None = None
) -> Iterator[list[tuple[Any, ...]]]:
    """Every stream's raw rows in version order, one stream at a time, streamed from the server."""
    where, params = _tenant(company)
    with conn.cursor(name="tasktrack_audit_scan") as cur:
        cur.itersize = SCAN_BATCH
        cur.execute(
            f"SELECT {chaincheck.RAW_COLUMNS} FROM events WHERE true{where} "
            "ORDER BY stream_id, stream_version",
            params,
        )
        current: list[tuple[Any, ...]] = []
        for row in cur:
            if current and row[0] != current[0][0]:
                yield current
                current = []
            current.append(row)
        if current:
            yield current


def verify_chains(
    conn: psycopg.Connection[Any],
    progress: Callable[[int], None] | None = None,
    rules: Counter[int] | None = None,
    company: str | None = None,
) -> list[ChainBreak]:
    """The first break of every stream whose chain does not hold ([] when all hold); `rules`
    counts the events that verified under each hash-chain rule (domain/chain.py); `company`:
    that tenant's streams only (by the log's company column: the chain check itself then
    holds each event's hashed tenant to it, store/chaincheck.py)."""
    breaks = []
    for rows in _streams(conn, company):
        broken = chaincheck.check_rows(rows, rules)
        if broken is not None:
            breaks.append(broken)
        if progress is not None:
            progress(len(rows))
    return breaks


def _horizon(conn: psycopg.Connection[Any], company: str | None) -> Checkpoint:
    where, params = _tenant(company)
    row = conn.execute(
        "SELECT tx::text AS tx_text, position FROM events "
        f"WHERE tx < pg_snapshot_xmin(pg_current_snapshot()){where} "
        "ORDER BY events.tx DESC, events.position DESC LIMIT 1",
        params,
    ).fetchone()
    return Checkpoint(0, 0) if row is None else Checkpoint(int(row[0]), int(row[1]))


def _digest(conn: psycopg.Connection[Any], at: Checkpoint, company: str | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    streams = 0
    where, params = _tenant(company)
    with conn.cursor(name="tasktrack_anchor_scan") as cur:
        cur.itersize = SCAN_BATCH
        # Within a stream (tx, position) order is version order (store/eventlog.py), so the
        # highest version at or before the anchor point is the stream's head then.
        cur.execute(
            "SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash FROM events "
            f"WHERE (tx, position) <= (%s::text::xid8, %s){where} "
            "ORDER BY stream_id, stream_version DESC",
            [str(at.tx), at.position, *params],
        )
        for stream_id, version, digest_bytes in cur:
            digest.update(f"{stream_id} {version} {bytes(digest_bytes).hex()}\n".encode())
            streams += 1
    return streams, digest.hexdigest()


def anchor(conn: psycopg.Connection[Any], company: str | None = None) -> Anchor:
    """An anchor of the whole log, or of one tenant's events in its own commit-safe order."""
    at = _horizon(conn, company)
    streams, digest = _digest(conn, at, company)
    return Anchor(tx=at.tx, position=at.position, streams=streams, digest=digest)


def check_anchor(
    conn: psycopg.Connection[Any], expected: Anchor, company: str | None = None
) -> str | None:
    """None if the log (or the tenant's part of it, for a tenant's anchor) still holds
    everything the anchor saw, else what is wrong."""
    streams, digest = _digest(conn, Checkpoint(expected.tx, expected.position), company)
    if (streams, digest) == (expected.streams, expected.digest):
        return None
    return (
        f"the log no longer matches the anchor taken at position {expected.position}: "
        f"{expected.streams} streams then, {streams} now up to that point; events that "
        "existed when it was taken were removed or altered"
    )


def timeline(conn: psycopg.Connection[Any], stream_id: str) -> list[TimelineEntry]:
    """Every status change of a task, from its stream alone."""
    out = []
    for record in eventlog.read_stream(conn, stream_id, payloads=False):
        change = ev.status_change(record.event)
        if change is None:
            continue
        out.append(
            TimelineEntry(
                position=record.position,
                version=record.stream_version,
                at=record.recorded_at,
                user=record.metadata.user,
                from_status=change.from_status,
                to_status=change.to_status,
                reason=change.reason,
                message=change.message,
                force=change.force,
                hash=record.hash.hex(),
            )
        )
    return out
