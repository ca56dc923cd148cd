"""A queue's rows: `queues` (its state and stream head) and `queue_entries` (its waiting line).

The service reads a queue through these before deciding (after taking the queue's lock, so
what it reads is the latest committed); the queues projector writes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain.events import MetadataItem
from tasktrack.domain.queues import Entry, QueueState
from tasktrack.domain.records import StreamHead
from tasktrack.store.keyed import KEYS, keyed
from tasktrack.store.staterows import state_fields, state_params, stream_head

STATE_COLUMNS = (
    "id",
    "company",
    "name",
    "created",
    "user_id",
    "display_name",
    "tags",
    "system_tags",
    "metadata",
    "last_update",
)
COLUMNS = (*STATE_COLUMNS, "stream_version", "head_hash", "head_at")
SELECT_LIST = ", ".join(COLUMNS)
ENTRY_COLUMNS = ("company", "queue_id", "task_id", "rank", "added")


class QueueRow(msgspec.Struct, frozen=True):
    state: QueueState
    head: StreamHead
    head_at: datetime


def row_params(state: QueueState, head: StreamHead, head_at: datetime) -> list[Any]:
    return state_params(state, STATE_COLUMNS, {"metadata"}, head, head_at)


def from_row(row: Sequence[Any]) -> QueueRow:
    values = dict(zip(COLUMNS, row, strict=True))
    fields = state_fields(values, STATE_COLUMNS)
    fields["metadata"] = msgspec.convert(fields["metadata"], list[MetadataItem])
    fields["tags"] = list(fields["tags"])
    fields["system_tags"] = list(fields["system_tags"])
    head = stream_head(values)
    return QueueRow(state=QueueState(**fields), head=head, head_at=values["head_at"])


def send_load(
    conn: psycopg.Connection[Any], company: str, ids: Iterable[str], table: str = "queues"
) -> psycopg.Cursor[Any]:
    """Send the read of these queues' rows without waiting (pipeline mode); `loaded` reads it."""
    return conn.execute(
        f"SELECT {SELECT_LIST} FROM {table} WHERE company = %s AND id = ANY(%s)",
        (company, list(ids)),
    )


def send_load_with_line(
    conn: psycopg.Connection[Any], company: str, queue_id: str, limit: int
) -> psycopg.Cursor[Any]:
    """Send the read of one queue's row with the first `limit` entries of its line, first in
    line first (a handout's candidates): one statement, one range of the (company, queue_id,
    rank) index; `loaded_with_line` reads it. Both parts are held to the tenant, so on Citus
    the statement goes to its one shard."""
    return conn.execute(
        f"SELECT {SELECT_LIST}, l.line_tasks, l.line_added, l.line_ranks FROM queues "
        "LEFT JOIN LATERAL (SELECT array_agg(e.task_id ORDER BY e.rank) AS line_tasks, "
        "array_agg(e.added ORDER BY e.rank) AS line_added, "
        "array_agg(e.rank ORDER BY e.rank) AS line_ranks "
        "FROM (SELECT task_id, added, rank FROM queue_entries "
        "      WHERE company = %s AND queue_id = %s ORDER BY rank LIMIT %s) AS e) AS l ON true "
        "WHERE company = %s AND id = %s",
        (company, queue_id, limit, company, queue_id),
    )


def loaded_with_line(cursor: psycopg.Cursor[Any]) -> tuple[dict[str, QueueRow], list[Entry]]:
    """The queue's row (none when there is no such queue) and the entries read with it."""
    found = cursor.fetchall()
    if not found:
        return {}, []
    row = found[0]
    tasks, added, ranks = row[len(COLUMNS) :]
    line = [
        Entry(task=t, added=a, rank=k)
        for t, a, k in zip(tasks or [], added or [], ranks or [], strict=True)
    ]
    return {row[0]: from_row(row[: len(COLUMNS)])}, line


def loaded(cursor: psycopg.Cursor[Any]) -> dict[str, QueueRow]:
    return {r[0]: from_row(r) for r in cursor.fetchall()}


def load(
    conn: psycopg.Connection[Any], company: str, ids: Iterable[str], table: str = "queues"
) -> dict[str, QueueRow]:
    """The rows of these queues of `company` (unknown ids are absent from the answer)."""
    wanted = list(ids)
    if not wanted:
        return {}
    return loaded(send_load(conn, company, wanted, table))


@functools.cache  # one per table name: projectors are made per command
def upsert_sql(table: str) -> str:
    marks = ", ".join(["%s"] * len(COLUMNS))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("company", "id"))
    return (
        f"INSERT INTO {table} ({SELECT_LIST}) VALUES ({marks}) "
        f"ON CONFLICT (company, id) DO UPDATE SET {updates}"
    )


def entries(
    conn: psycopg.Connection[Any], company: str, queue_id: str, table: str = "queue_entries"
) -> list[Entry]:
    """The queue's waiting line, first in line first."""
    rows = conn.execute(
        f"SELECT task_id, added, rank FROM {table} WHERE company = %s AND queue_id = %s "
        "ORDER BY rank",
        (company, queue_id),
    )
    return [Entry(task=r[0], added=r[1], rank=r[2]) for r in rows.fetchall()]


def send_first(conn: psycopg.Connection[Any], company: str, queue_id: str) -> psycopg.Cursor[Any]:
    """Send the read of the entry first in line without waiting (pipeline mode); `first_of`
    reads it. One probe of the (company, queue_id, rank) index."""
    return conn.execute(
        "SELECT task_id, added, rank FROM queue_entries WHERE company = %s AND queue_id = %s "
        "ORDER BY rank LIMIT 1",
        (company, queue_id),
    )


def first_of(cursor: psycopg.Cursor[Any]) -> Entry | None:
    row = cursor.fetchone()
    return None if row is None else Entry(task=row[0], added=row[1], rank=row[2])


def first(conn: psycopg.Connection[Any], company: str, queue_id: str) -> Entry | None:
    """The entry first in line, if any."""
    return first_of(send_first(conn, company, queue_id))


def send_line_after(
    conn: psycopg.Connection[Any], company: str, queue_id: str, rank: int, limit: int
) -> psycopg.Cursor[Any]:
    """Send the read of up to `limit` entries ranked after `rank`, first in line first (a
    handout's candidates); `line_of` reads them. One range of the (company, queue_id, rank)
    index."""
    return conn.execute(
        "SELECT task_id, added, rank FROM queue_entries "
        "WHERE company = %s AND queue_id = %s AND rank > %s ORDER BY rank LIMIT %s",
        (company, queue_id, rank, limit),
    )


def line_of(cursor: psycopg.Cursor[Any]) -> list[Entry]:
    return [Entry(task=r[0], added=r[1], rank=r[2]) for r in cursor.fetchall()]


def send_memberships(
    conn: psycopg.Connection[Any], company: str, task_ids: Iterable[str]
) -> psycopg.Cursor[Any]:
    """Send the read of the queues these tasks wait in; `members` reads the answer."""
    statement, keys = keyed(
        f"SELECT task_id, queue_id FROM queue_entries WHERE company = %s AND task_id {KEYS} "
        "ORDER BY task_id, queue_id",
        list(task_ids),
    )
    return conn.execute(statement, (company, keys))


def members(cursor: psycopg.Cursor[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for task_id, queue_id in cursor.fetchall():
        found.setdefault(task_id, []).append(queue_id)
    return found


def memberships(
    conn: psycopg.Connection[Any], company: str, task_ids: Iterable[str]
) -> dict[str, list[str]]:
    """The queues each of these tasks waits in (most wait in none, a few in one)."""
    return members(send_memberships(conn, company, task_ids))


def send_tagged(conn: psycopg.Connection[Any], company: str, tag: str) -> psycopg.Cursor[Any]:
    """Send the read of the company's queues with this system tag; `ids` reads the answer."""
    return conn.execute(
        "SELECT id FROM queues WHERE company = %s AND %s = ANY(system_tags) ORDER BY created, id",
        (company, tag),
    )


def send_named(conn: psycopg.Connection[Any], company: str, name: str) -> psycopg.Cursor[Any]:
    """Send the read of the company's queue of this name; `ids` reads the answer."""
    return conn.execute("SELECT id FROM queues WHERE company = %s AND name = %s", (company, name))


def ids(cursor: psycopg.Cursor[Any]) -> list[str]:
    return [str(r[0]) for r in cursor.fetchall()]


def tagged(conn: psycopg.Connection[Any], company: str, tag: str) -> list[str]:
    """The company's queues with this system tag, oldest first."""
    return ids(send_tagged(conn, company, tag))


def named(conn: psycopg.Connection[Any], company: str, name: str) -> str | None:
    """The id of the company's queue of this name, if it exists."""
    found = ids(send_named(conn, company, name))
    return found[0] if found else None
