"""One tenant's write lock on a sharded log: its commands hold it shared, a rebuild exclusive.

On a log sharded by tenant (Citus) one tenant's inline projections are rebuilt by replaying its
events into twins while its writers go on, then holding off that tenant's writers only for the
last few events and the replacement of its rows (projections/tenant_rebuild.py). The lock that
does it is a transaction-scoped advisory lock named after the tenant, on the coordinator (a
statement that reads no table runs there: no shard, no second phase). Every command of the
tenant takes it in SHARED mode as the statement right after its BEGIN, pipelined with its first
round trip (service/core.py), so commands never wait for each other on it; the rebuild takes it
EXCLUSIVE. Ordering: it is the command's first lock, before any stream lock and before its
first write, so a command waiting for it holds nothing anyone waits for, and the rebuild, which
asks for it before touching any row, holds nothing a command needs: no deadlock. While the
rebuild waits, PostgreSQL queues later SHARED requests behind it, so only the tenant's commands
already running are waited for. Other tenants take other keys and never wait on it.

A single PostgreSQL has no per-tenant rebuild (one checkpoint for the whole log), so there the
commands take no such lock: nothing changes on one node. Whether a connection's database is a
sharded log is asked once per connection (a pooled one lives long); one opened before `db
distribute` does not take the lock until the pool replaces it (docs/architecture.md, "Citus").
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

import psycopg

from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.store import eventlog

_sharded: WeakKeyDictionary[psycopg.Connection[Any], bool] = WeakKeyDictionary()


def key(company: str) -> int:
    """The advisory-lock key of a tenant's writers (not a stream id: streams are uuids)."""
    return eventlog.lock_key(f"tenant-writers:{company}")


def commands_take_it(conn: psycopg.Connection[Any]) -> bool:
    """Is this connection's log sharded by tenant (then commands take the tenant lock)? Asked
    once per connection, outside any pipeline (the answer costs one round trip)."""
    known = _sharded.get(conn)
    if known is None:
        known = eventlog.sharded(conn)
        if not conn.autocommit:
            conn.rollback()
        _sharded[conn] = known
    return known


def send_shared(conn: psycopg.Connection[Any], company: str) -> None:
    """A command's share of its tenant's lock: sent right after BEGIN, before every other lock,
    without waiting for the answer (pipeline mode). Assigns no transaction id."""
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (key(company),))


def hold_off_writers(conn: psycopg.Connection[Any], company: str) -> None:
    """Take the tenant's lock EXCLUSIVE in the caller's transaction (until it ends): waits for
    the tenant's running commands, and its new ones wait. The caller must hold no row lock yet
    (see the module docstring)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (key(company),))


def committed_end(conn: psycopg.Connection[Any], company: str) -> Checkpoint:
    """The last event of the tenant below its worker's horizon, in its commit-safe order
    (LOG_START if none): every event up to it is committed, and every later one sorts after
    it. One statement routed to the worker holding the tenant, whose `tx` and horizon are one
    counter (eventlog.read_all)."""
    # tx read as text under another name: ORDER BY tx would otherwise sort that text.
    row = conn.execute(
        "SELECT tx::text AS tx_text, position FROM events WHERE company = %s "
        "AND tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx DESC, position DESC LIMIT 1",
        (company,),
    ).fetchone()
    return LOG_START if row is None else Checkpoint(int(row[0]), int(row[1]))


def _worker_snapshot(conn: psycopg.Connection[Any], company: str) -> tuple[int, int]:
    """(xmin, xmax) of a snapshot taken now on the worker holding the tenant: the query names
    the tenant's shard of `events`, so Citus sends it there whole (an aggregate: one row even
    for a tenant with no event yet)."""
    row = conn.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, "
        "pg_snapshot_xmax(pg_current_snapshot())::text, count(*) "
        "FROM events WHERE company = %s",
        (company,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def wait_until_settled(conn: psycopg.Connection[Any], company: str, timeout: float = 60) -> None:
    """With the tenant's lock held exclusive: wait until every transaction that was running on
    its worker when this was called has ended there.

    Why: the lock is the coordinator's, released when the coordinator's transaction commits;
    a command committed in two phases is then still PREPARED on the worker until its COMMIT
    PREPARED arrives (invisible, its worker transaction id running). Once the worker's horizon
    passes every transaction id that was running at the first look, all of the tenant's
    commands are committed (or rolled back) there, none can start, and a commit-safe read of
    the tenant returns everything. Other tenants' transactions on that worker are waited for
    too (they are short commands); nothing of theirs waits on this."""
    _, xmax = _worker_snapshot(conn, company)
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        xmin, _ = _worker_snapshot(conn, company)
        if xmin >= xmax:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"transactions on {company}'s worker still running after {timeout:.0f} s "
                "(a session left open there holds a per-tenant rebuild back)"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
