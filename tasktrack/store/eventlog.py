"""The event log: append with per-stream locking and hash chaining, read a stream, read all.

Ordering, the part that matters most (DESIGN §2, and docs/architecture.md):

* Sequence order is not commit order. A transaction can take position 10 and commit after the
  one that took 11; a reader that already passed 11 would never see 10. So the log is read in
  the order of the *writing transaction id* (`tx`, an xid8) and then position, and only rows of
  transactions older than the oldest one still running (`tx < pg_snapshot_xmin(...)`) are
  returned. Every transaction below that horizon has committed or aborted, so no row can ever
  appear behind a reader's checkpoint; writers never wait for readers or for each other across
  streams. A long open transaction only holds readers back, which is why every connection sets
  `idle_in_transaction_session_timeout` (store/engine.py).

* Within a stream, `(tx, position)` order must also be version order. A transaction gets its
  id at its first write *or row lock*; if it got one before waiting for a stream that another
  transaction then appends to, it would carry the *older* id but the *newer* version, and
  readers would meet the stream's events out of order. So writers lock streams with
  transaction-scoped advisory locks, which assign no transaction id, and take every lock a
  command needs before their first write (`lock_streams`, sorted, so two commands never wait
  on each other in a cycle). The transaction id is then assigned after the stream's previous
  writer committed, hence larger. The unique (stream_id, stream_version) key stays the last
  line of defence: a write that slipped past the lock fails instead of overwriting history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg import errors as pgerrors

from tasktrack.domain import chain, codec
from tasktrack.domain.errors import VersionConflict
from tasktrack.domain.events import AnyEvent
from tasktrack.domain.queues import LOCK_PREFIX as QUEUE_LOCK_PREFIX
from tasktrack.domain.records import (
    LOG_START,
    Appended,
    Checkpoint,
    Metadata,
    Recorded,
    StreamHead,
)
from tasktrack.store.keyed import KEYS, keyed

_metadata_decoder = msgspec.json.Decoder(Metadata)
_encoder = msgspec.json.Encoder()

# tx is read as text (psycopg has no xid8 loader) under another name: ORDER BY tx would
# otherwise sort by that text ("10" before "9").
# The company column is not read back: a reader takes an event's tenant from its hashed
# metadata, or better from its stream (the projectors do), never from an unhashed column.
# What one fetch of a replay scan holds at most (about), whatever the size of its events.
FETCH_BYTES = 32 * 1024 * 1024

_COLUMNS = (
    "position, tx::text AS tx_text, stream_id, stream_version, type, schema_version, "
    "data::text, metadata::text, recorded_at, hash"
)
# The same, with the payload of reported plots and images (TaskEventsStored, which nothing
# folding a task needs) read as an empty stub. Why it pays: a large `data` value is kept
# out of line (TOAST), and PostgreSQL reads it only when the value is used, so a replay of a
# task's state, its time travel and its status timeline never read a megabyte of plotly JSON
# (docs/architecture.md, "Reported events"). The stub keeps the event's type and time.
_COLUMNS_WITHOUT_PAYLOADS = _COLUMNS.replace(
    " data::text,",
    " CASE WHEN type IN ('TaskEventsStored', 'ModelEventsStored') "
    "THEN json_build_object('event', type, "
    "'at', recorded_at, 'by', '', 'events', json_build_array())::text ELSE data::text END,",
)


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a stream id (or any other named resource)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LockOrderError(RuntimeError):
    """A stream lock was asked for after the transaction's first write (a programming error)."""


# The log's unique key on (stream_id, stream_version): the last line of defence against a
# writer that appends without the stream lock.
STREAM_KEY = "events_company_stream_id_stream_version_key"

# unnest yields the array in order and each row's lock is taken as the row is produced; count(*)
# consumes every row, and the same statement tells whether this transaction already owns a
# transaction id (check_locked).
LOCK_SQL = (
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS assigned, count(*) AS n "
    "FROM (SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k) AS taken"
)


# A command's first statement: its locks, and the statuses of its tasks as committed when it
# arrived (for ClearML's compare-and-set), in one statement (a statement costs the client more
# than the server here). The statuses are read with the statement's snapshot, taken before the
# locks are granted; the rows the command decides on are read by the *next* statement, whose
# snapshot follows the locks. The tasks are the caller's tenant's: held to `company`, the read
# goes to that tenant's shard alone on Citus (by id alone it went to every shard).
_LOCK_AND_SEE_SQL = (
    "SELECT locks.assigned, locks.n, seen.ids, seen.statuses "
    f"FROM ({LOCK_SQL}) AS locks, "
    "     (SELECT array_agg(id) AS ids, array_agg(status) AS statuses "
    f"      FROM tasks WHERE company = %s AND id {KEYS}) AS seen"
)
# The same answer's shape when the command sees no task (queue commands): no table at all, so
# no shard either.
_LOCK_ONLY_SQL = (
    f"SELECT locks.assigned, locks.n, NULL::text[], NULL::text[] FROM ({LOCK_SQL}) AS locks"
)


# Queue streams are locked after everything else a command locks (tasks, queue names, ...).
# One fixed order across commands is what rules out deadlocks, and this one fits what the
# commands know when: a task command learns which queues its task waits in only once it holds
# the task (membership changes only under the task's lock, save get_next_task, which takes
# nothing but its queue's lock), and queues.clear_queue / delete read their waiting tasks
# before locking them with the queue in one call, which this order sorts the same way.
def _rank(name: str) -> int:
    return 1 if name.startswith(QUEUE_LOCK_PREFIX) else 0


def lock_keys(names: Iterable[str]) -> list[int]:
    """The advisory-lock keys of these streams in the one order every command follows: every
    other lock first, queue streams' last, each group sorted by key."""
    ranked = sorted({(_rank(n), lock_key(n)) for n in names})
    return [key for _, key in ranked]


def check_locked(row: Sequence[Any] | None) -> None:
    """Refuse locks that came after the transaction's first write (see the module docstring)."""
    if row is not None and row[0]:
        raise LockOrderError(
            "stream locks must be taken before the transaction's first write: lock every "
            "stream of the command first (lock_streams), then append with their heads"
        )


def lock_streams(conn: psycopg.Connection[Any], names: Iterable[str]) -> None:
    """Take the transaction-scoped locks of these streams, in one sorted order.

    Must come before the transaction's first write (see the module docstring for why), and
    refuses otherwise; the locks are released at commit or rollback.
    """
    keys = lock_keys(names)
    if keys:
        check_locked(conn.execute(LOCK_SQL, (keys,)).fetchone())


def send_lock_and_see(
    conn: psycopg.Connection[Any],
    names: Iterable[str],
    task_ids: list[str],
    company: str | None = None,
) -> psycopg.Cursor[Any]:
    """Send a command's first statement (_LOCK_AND_SEE_SQL) without waiting for it; `seen`
    reads its answer once the caller sent what it pipelines behind it. `task_ids` are tasks of
    `company` (which may be left out only when there are none)."""
    if not task_ids:
        return conn.execute(_LOCK_ONLY_SQL, (lock_keys(names),))
    if company is None:
        raise ValueError("the statuses of tasks are read within their company")
    statement, keys = keyed(_LOCK_AND_SEE_SQL, task_ids)
    return conn.execute(statement, (lock_keys(names), company, keys))


def seen(cursor: psycopg.Cursor[Any]) -> dict[str, str]:
    """The statuses a command saw, once its locks are held (refused after a first write)."""
    row = cursor.fetchone()  # in pipeline mode, the sync happens here
    check_locked(row)
    assert row is not None
    return dict(zip(row[2] or [], row[3] or [], strict=True))


# A queue's lock in SHARED mode, for handouts (service/queues.py, on_next): handouts run
# side by side, every command that appends to the queue's stream holds it EXCLUSIVE.
_LOCK_SHARED_SQL = (
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS assigned, "
    "pg_advisory_xact_lock_shared(%s)"
)

# The first of these locks that nobody holds, taken without waiting for any: the keys are
# tried in the array's order (unnest yields it in order, the filter runs row by row and
# LIMIT stops at the first taken), so at most one lock is taken. No transaction id is
# assigned (advisory locks), so the stream-order rule above still holds for the append.
_TRY_FIRST_SQL = (
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS assigned, "
    "(SELECT k.i FROM unnest(%s::bigint[]) WITH ORDINALITY AS k(key, i) "
    " WHERE pg_try_advisory_xact_lock(k.key) LIMIT 1)"
)


def send_lock_shared(conn: psycopg.Connection[Any], name: str) -> psycopg.Cursor[Any]:
    """Send the SHARED lock of one stream (a queue's, for a handout); `seen_shared` reads it."""
    return conn.execute(_LOCK_SHARED_SQL, (lock_key(name),))


def seen_shared(cursor: psycopg.Cursor[Any]) -> None:
    check_locked(cursor.fetchone())


def try_first(conn: psycopg.Connection[Any], names: Sequence[str]) -> int | None:
    """Lock the first of these streams that no other transaction holds, without waiting;
    its index in `names`, None when every one is held (or none is given)."""
    if not names:
        return None
    row = conn.execute(_TRY_FIRST_SQL, ([lock_key(n) for n in names],)).fetchone()
    check_locked(row)
    assert row is not None
    return None if row[1] is None else int(row[1]) - 1


def check_expected(stream_id: str, expected: int | None, actual: int) -> None:
    """A conditional write: the stream, at version `actual`, must be at `expected` (0: must not
    exist yet), 409 otherwise. Checked with the stream's lock held, before anything is written."""
    if expected is not None and expected != actual:
        raise VersionConflict(stream_id, expected, actual)


def is_stream_clash(exc: pgerrors.UniqueViolation) -> bool:
    """Did the log's (stream, version) key refuse an append? Only a writer that bypassed the
    stream lock can cause it; the service retries, then answers 409 (StreamClash)."""
    return exc.diag.constraint_name == STREAM_KEY


class PendingAppend(msgspec.Struct, frozen=True):
    """An INSERT sent but not read back: the versions and hashes it writes, and the cursor
    whose rows are the positions once the pipeline syncs (only tests read them)."""

    cursor: Any  # psycopg.Cursor
    appended: list[Appended]


def send_append(
    conn: psycopg.Connection[Any],
    *,
    stream_id: str,
    events: Sequence[AnyEvent],
    metadata: Metadata,
    recorded_at: datetime,
    head: StreamHead,
) -> PendingAppend:
    """Hash-chain `events` onto `head` and send their INSERT without waiting for it.

    The caller holds the stream's lock and read `head` after taking it. In pipeline mode this
    costs no round trip of its own; `result()` reads the positions back. The `company` column
    is the tenant of the (hashed) metadata, and the hash covers it too (chain rule 2), so the
    column every filter reads can never disagree with what the chain proves.
    """
    company = metadata.company
    meta_bytes = _encoder.encode(metadata)
    meta_text = meta_bytes.decode()
    params: list[Any] = []
    appended: list[Appended] = []
    previous = head.hash
    for offset, event in enumerate(events, start=1):
        version = head.version + offset
        type_name = codec.type_of(event)
        schema_version = type(event).schema_version
        data = codec.encode(event)
        digest = chain.link(
            previous,
            chain.event_bytes(
                stream_id=stream_id,
                stream_version=version,
                type_name=type_name,
                schema_version=schema_version,
                data=data,
                metadata=meta_bytes,
                recorded_at=recorded_at,
                company=company,
                rule=chain.CURRENT,
            ),
        )
        params += [
            stream_id,
            version,
            chain.CURRENT,
            company,
            type_name,
            schema_version,
            data.decode(),
            meta_text,
            recorded_at,
            digest,
        ]
        appended.append(Appended(version, 0, digest))
        previous = digest
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s::json, %s::json, %s, %s)"] * len(events))
    cursor = conn.cursor()
    cursor.execute(
        "INSERT INTO events (stream_id, stream_version, chain, company, type, schema_version, "
        f"data, metadata, recorded_at, hash) VALUES {placeholders} RETURNING position",
        params,
    )
    return PendingAppend(cursor, appended)


def recorded(row: Sequence[Any]) -> Recorded:
    (
        position,
        tx,
        stream_id,
        version,
        type_name,
        schema_version,
        data,
        metadata,
        recorded_at,
        digest,
    ) = row
    return Recorded(
        position=position,
        tx=int(tx),
        stream_id=stream_id,
        stream_version=version,
        type=type_name,
        schema_version=schema_version,
        event=codec.decode(type_name, schema_version, data),
        metadata=_metadata_decoder.decode(metadata),
        recorded_at=recorded_at,
        hash=bytes(digest),
    )


def read_stream(
    conn: psycopg.Connection[Any],
    stream_id: str,
    *,
    to_version: int | None = None,
    until: datetime | None = None,
    payloads: bool = True,
) -> list[Recorded]:
    """A stream's events in version order, up to a version and/or a time (both inclusive);
    without `payloads`, reported plots and images come as empty stubs (their type and time)."""
    columns = _COLUMNS if payloads else _COLUMNS_WITHOUT_PAYLOADS
    query = f"SELECT {columns} FROM events WHERE stream_id = %s"
    params: list[Any] = [stream_id]
    if to_version is not None:
        query += " AND stream_version <= %s"
        params.append(to_version)
    if until is not None:
        query += " AND recorded_at <= %s"
        params.append(until)
    query += " ORDER BY stream_version"
    return [recorded(row) for row in conn.execute(query, params)]


def read_handouts(
    conn: psycopg.Connection[Any], company: str, queue_id: str, until: datetime | None = None
) -> list[Recorded]:
    """The TaskHandedOut events (on tasks' streams) from one queue of `company`, up to a time,
    in log order: a queue's story is its stream and these. The partial index
    events_handouts_idx (migration 0022) finds them without reading the rest of the log."""
    query = (
        f"SELECT {_COLUMNS} FROM events WHERE company = %s AND type = 'TaskHandedOut' "
        "AND (data ->> 'queue') = %s"
    )
    params: list[Any] = [company, queue_id]
    if until is not None:
        query += " AND recorded_at <= %s"
        params.append(until)
    query += " ORDER BY position"
    return [recorded(row) for row in conn.execute(query, params)]


def read_all(
    conn: psycopg.Connection[Any],
    after: Checkpoint = LOG_START,
    *,
    limit: int = 1000,
    max_bytes: int | None = None,
    writers_locked_out: bool = False,
    company: str | None = None,
) -> list[Recorded]:
    """The next committed events after `after`, in commit-safe (tx, position) order.

    Only transactions older than every transaction still in progress are read (see the module
    docstring): an event returned here can never be preceded by one that shows up later.
    `max_bytes`: stop once the payloads read reach this size (always at least one event), so
    a batch of large events (metric reports of hundreds of points) is as bounded in memory as
    one of small ones; the cut is made in the server, which sends only what is kept.
    `writers_locked_out`: the caller holds a lock on `events` that no inserting transaction
    can hold alongside (SHARE mode, see projections/rebuild.py), so every row is committed
    and the horizon is not needed (other, unrelated transactions would only hold it back).
    `company`: that tenant's events only, `after` being a checkpoint in them. On Citus this
    is the one commit-safe read: routed to the worker holding the tenant, whose horizon and
    `tx` (stamped there, store/distribute.py) are one counter (docs/architecture.md, "Citus").
    """
    horizon = "" if writers_locked_out else "AND tx < pg_snapshot_xmin(pg_current_snapshot()) "
    tenant = "" if company is None else "AND company = %s "
    where = f"WHERE (tx, position) > (%s::text::xid8, %s) {tenant}{horizon}"
    params: list[Any] = [str(after.tx), after.position]
    params += [] if company is None else [company]
    params.append(limit)
    if max_bytes is None:
        query = f"SELECT {_COLUMNS} FROM events {where}ORDER BY tx, position LIMIT %s"
    else:
        # The running size over the (index-ordered) candidates; a row is kept when the ones
        # before it are still under the budget, so the first always is.
        query = (
            f"SELECT {_COLUMNS} FROM (SELECT *, sum(octet_length(data::text)) OVER w AS upto, "
            f"octet_length(data::text) AS size FROM events {where}"
            "WINDOW w AS (ORDER BY tx, position) ORDER BY tx, position LIMIT %s) AS events "
            "WHERE upto - size < %s ORDER BY tx, position"
        )
        params.append(max_bytes)
    rows = conn.execute(query, params).fetchall()
    return [recorded(row) for row in rows]


# A loose index scan of the log's company-led key: one probe of the index per tenant (the
# next company above the last one found) instead of a read of every entry, which a SELECT
# DISTINCT does and PostgreSQL 15 has no skip scan to avoid. `{events}` is the table (on
# Citus, each shard's name in turn, which run_command_on_shards substitutes as format()
# does: `%1$s`, named twice).
_TENANTS = (
    "WITH RECURSIVE t(company) AS ("
    "(SELECT company FROM {events} ORDER BY company LIMIT 1) UNION ALL "
    "SELECT (SELECT e.company FROM {events} e WHERE e.company > t.company "
    "ORDER BY e.company LIMIT 1) FROM t WHERE t.company IS NOT NULL) "
    "SELECT company FROM t WHERE company IS NOT NULL"
)
# On Citus the scan runs on every shard where it is (a recursive query over a distributed
# table is not pushed down), each shard's tenants answered as one JSON array.
_SHARD_TENANTS = (
    "SELECT success, result FROM run_command_on_shards('events', $q$"
    "SELECT coalesce(json_agg(company), '[]')::text FROM ("
    + _TENANTS.format(events="%1$s")
    + ") AS tenants$q$)"
)


def sharded(conn: psycopg.Connection[Any]) -> bool:
    """Is `events` sharded by tenant (hash-distributed by Citus)? Then the log has no single
    commit-safe order any more, only one per tenant (read_all(company=...)). Two statements:
    the catalog table the second names does not exist on a plain PostgreSQL."""
    row = conn.execute("SELECT to_regclass('pg_catalog.pg_dist_partition')").fetchone()
    if row is None or row[0] is None:
        return False
    found = conn.execute(
        "SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'events'::regclass "
        "AND partmethod = 'h'"
    ).fetchone()
    return found is not None


def tenants(conn: psycopg.Connection[Any]) -> list[str]:
    """Every tenant the log holds events of, found afresh on each call, so a reader going
    tenant by tenant (a sharded log) finds a tenant whose first event came after it started
    on its next pass. A probe of the index per tenant (see _TENANTS), whatever the log's size;
    on a log sharded by tenant, per shard on the workers."""
    if not sharded(conn):
        rows = conn.execute(_TENANTS.format(events="events")).fetchall()
        return sorted(str(r[0]) for r in rows)
    found: set[str] = set()
    for success, result in conn.execute(_SHARD_TENANTS).fetchall():
        if not success:
            raise RuntimeError(f"listing a shard's tenants failed: {result}")
        found.update(str(c) for c in msgspec.json.decode(result))
    return sorted(found)


def horizon(conn: psycopg.Connection[Any]) -> int:
    """The oldest transaction still running: every event of an older one is committed (or was
    rolled back) and can be read; none can ever appear below it."""
    row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()
    assert row is not None
    return int(row[0])


def read_by_stream(
    conn: psycopg.Connection[Any],
    below: int,
    *,
    until: Checkpoint | Mapping[str, Checkpoint] | None = None,
    itersize: int = 2000,
    payloads: bool = True,
) -> Iterator[Recorded]:
    """Every event of transactions older than `below` (a `horizon`), up to `until`, stream
    after stream, each in version order: what a replay folds one stream at a time.

    Read through a server-side cursor in the caller's transaction (one snapshot; the rows
    stream in `itersize` at a time, memory stays flat: 2,000 metric reports of 500 points
    are about 20 MB of text). Within a stream, version order is commit order (see the
    module docstring), so a stream's events older than `below` are a prefix of it and the
    ones a later read finds at or above `below` continue it. Without `payloads` (no projector
    replayed needs them), reported plots and images come as empty stubs. `until` as a mapping:
    each tenant's events up to its own checkpoint in its own order, the other tenants' none
    (a sharded log's per-tenant checkpoints, projections/checkpoints.py).
    """
    columns = _COLUMNS if payloads else _COLUMNS_WITHOUT_PAYLOADS
    source = "events"
    params: list[Any] = []
    if isinstance(until, Mapping) and len(until) == 1:
        # One tenant: held to its company, so Citus sends the scan to its worker alone.
        ((company, cp),) = until.items()
        source = (
            "(SELECT * FROM events WHERE company = %s "
            "AND (tx, position) <= (%s::text::xid8, %s)) AS events"
        )
        params += [company, str(cp.tx), cp.position]
    elif isinstance(until, Mapping):
        # Joined on company, the distribution column: on Citus each shard keeps its own
        # tenants' events up to their checkpoints.
        source = (
            "(SELECT e.* FROM events e JOIN unnest(%s::text[], %s::text[], %s::bigint[]) "
            "AS c(company, tx, position) ON c.company = e.company "
            "WHERE (e.tx, e.position) <= (c.tx::xid8, c.position)) AS events"
        )
        companies = sorted(until)
        params += [companies, [str(until[c].tx) for c in companies]]
        params.append([until[c].position for c in companies])
    query = f"SELECT {columns} FROM {source} WHERE tx < %s::text::xid8"
    params.append(str(below))
    if isinstance(until, Checkpoint):
        query += " AND (tx, position) <= (%s::text::xid8, %s)"
        params += [str(until.tx), until.position]
    with conn.cursor(name="tasktrack_replay_scan") as cur:
        cur.execute(query + " ORDER BY stream_id, stream_version", params)
        # Fetch by bytes, not only by rows: `itersize` metric reports are a few MB, but as many
        # plotly figures can be gigabytes. Each fetch is sized from the last one's mean row so
        # that it holds about FETCH_BYTES of payload (between 1 and `itersize` rows). The first
        # fetch is sized blind, and a fetch after small rows can meet large ones: W10's 2,000
        # plots came in one fetch of 491 MB. So a replay reads payloads as stubs here and the
        # ones it keeps by position (read_payloads), and this guard is only a second line.
        size = itersize
        while rows := cur.fetchmany(size):
            payload = sum(len(row[6]) + len(row[7]) for row in rows)  # data, metadata
            size = max(1, min(itersize, FETCH_BYTES * len(rows) // max(payload, 1)))
            for row in rows:
                yield recorded(row)


# A payload read (read_payloads): events until their *stored* size reaches this, and at most
# PAYLOAD_ROWS of them. The stored size (pg_column_size: compressed, as TOAST keeps it) is what
# the server knows without decompressing a value; measuring the text instead would decompress
# every payload twice (1.7 s for W10's 515 MB of figures). Plotly JSON compresses about 1.6x,
# so a read holds about twice this in text, and always at least one event.
PAYLOAD_BYTES = 4 * 1024 * 1024
PAYLOAD_ROWS = 500

_PAYLOADS_SQL = (
    f"SELECT {_COLUMNS} FROM (SELECT e.*, p.n, pg_column_size(e.data) AS size, "
    "sum(pg_column_size(e.data)) OVER (ORDER BY p.n) AS upto "
    "FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(position, n) "
    "JOIN events e USING (position)) AS events "
    "WHERE upto - size < %s ORDER BY n"
)


def read_payloads(conn: psycopg.Connection[Any], positions: Sequence[int]) -> Iterator[Recorded]:
    """The events at these positions (of a replay scan's stubs), in the order given, with their
    payloads, read a bounded group at a time (PAYLOAD_BYTES): what a replay of reported plots
    holds at once, whatever their number. Runs in the caller's transaction, between the
    fetches of its scan."""
    done = 0
    while done < len(positions):
        wanted = list(positions[done : done + PAYLOAD_ROWS])
        rows = conn.execute(_PAYLOADS_SQL, (wanted, PAYLOAD_BYTES)).fetchall()
        if not rows:
            raise LookupError(f"no event at position {wanted[0]}")
        done += len(rows)
        rows.reverse()  # handed out (and let go) one at a time
        while rows:
            yield recorded(rows.pop())
