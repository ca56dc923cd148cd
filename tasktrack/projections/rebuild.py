"""Rebuild and verify: replay the whole log into twins of the live tables, with the projectors'
own code, then swap the twins in (rebuild) or compare them with the live tables (verify).

Four steps (docs/architecture.md, "Replays"):

1. Twins of the live tables, empty and without indexes (store/replacement.py).
2. The fast path (projections/replay.py): every event older than a horizon, read stream by
   stream, each stream folded once, each row COPYed once. Writers go on meanwhile.
3. The twins' keys and indexes, grants and statistics, built once; writers still go on.
4. The tail, every event at or above the horizon, applied batch by batch in commit-safe order
   with the projectors' `apply` (the live path's code), until caught up; then writers are held
   off (`LOCK TABLE events IN SHARE MODE` waits for transactions that inserted events and
   blocks new inserts) for the last few events only, and the twins are swapped in by renaming,
   in that same transaction: catalog work, whatever the size of the log.

Verify does the same without the swap: under the lock, the twins are compared with the live
tables, then dropped. Catch-up projections are replayed under their runner lock and get their
checkpoint with the swap; they are verified as of their own checkpoint (a replay up to it must
equal them). A rebuild killed at any point leaves the live tables as they were (the swap is one
transaction); its twins are dropped by the next one. One rebuild (and one verify) at a time:
each holds a session lock while it works on its twins.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import ExitStack, contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from sqlalchemy import Engine

from tasktrack.domain.records import Checkpoint
from tasktrack.domain.state import TaskState
from tasktrack.projections import checkpoints, replay
from tasktrack.projections.base import Deferring, Replaying
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import distribute, eventlog, replacement, tables
from tasktrack.store.engine import raw

# A tail batch: at most BATCH events and BATCH_BYTES of payload. Counting events alone, a
# batch of 2,000 metric reports of 500 points each would be a million decoded points (about
# 100 MB); the byte budget keeps a replay's memory flat whatever the events.
BATCH = 2000
BATCH_BYTES = 4 * 1024 * 1024
LOCK_ATTEMPTS = 300
# The largest position: with `horizon - 1`, the checkpoint just before the horizon's events.
LAST_POSITION = 2**63 - 1
Progress = Callable[[int], None]


class BoundedStates(MutableMapping[str, TaskState]):
    """An LRU mapping of task states: a replay of millions of tasks keeps only the recent."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._data: OrderedDict[str, TaskState] = OrderedDict()

    def __getitem__(self, key: str) -> TaskState:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: TaskState) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """A row that differs between a live table and its replay."""

    table: str
    key: dict[str, Any]
    kind: str  # "missing" (the replay has it, live does not), "extra", or "differs"
    columns: list[str] = []


def _key_columns(table: str) -> list[str]:
    return [c.name for c in tables.metadata.tables[table].primary_key.columns]


def compare(
    conn: psycopg.Connection[Any], table: str, other: str, live: str | None = None
) -> list[Difference]:
    """Every row that differs between the live `table` (or its copy `live`) and `other`."""
    live = live or table
    keys = _key_columns(table)
    columns = [c.name for c in tables.metadata.tables[table].columns]
    only_live = conn.execute(f"SELECT * FROM {live} EXCEPT ALL SELECT * FROM {other}").fetchall()
    only_replay = conn.execute(f"SELECT * FROM {other} EXCEPT ALL SELECT * FROM {live}").fetchall()
    index = {c: i for i, c in enumerate(columns)}

    def key_of(row: Any) -> tuple[Any, ...]:
        return tuple(row[index[k]] for k in keys)

    in_live = {key_of(r): r for r in only_live}
    replay = {key_of(r): r for r in only_replay}
    out = []
    for key in sorted(set(in_live) | set(replay), key=repr):
        as_dict = dict(zip(keys, key, strict=True))
        if key not in in_live:
            out.append(Difference(table=table, key=as_dict, kind="missing"))
        elif key not in replay:
            out.append(Difference(table=table, key=as_dict, kind="extra"))
        else:
            changed = [c for c in columns if in_live[key][index[c]] != replay[key][index[c]]]
            out.append(Difference(table=table, key=as_dict, kind="differs", columns=changed))
    return out


def total_events(engine: Engine) -> int:
    with engine.connect() as sa_conn:
        n = raw(sa_conn).execute("SELECT count(*) FROM events").fetchone()
        sa_conn.rollback()
    return int(n[0]) if n else 0


def _twins(specs: list[ProjectorSpec], suffix: str) -> dict[str, str]:
    return replacement.twins([t for s in specs for t in s.tables], suffix)


def projectors(specs: list[ProjectorSpec], names: dict[str, str]) -> list[Replaying]:
    out: list[Replaying] = []
    for spec in specs:
        projector = spec.projector(names)
        assert isinstance(projector, Replaying), f"{spec.name} has no replay path"
        out.append(projector)
    return out


@contextmanager
def connections(
    engine: Engine, purpose: str
) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """(control, reader, writer): the control connection holds this purpose's session lock
    (one rebuild, one verify at a time: each works on its own twins), the reader the fast
    path's snapshot, the writer its COPYs."""
    with engine.connect() as a, engine.connect() as b, engine.connect() as c:
        conn = raw(a)
        key = eventlog.lock_key(f"replay:{purpose}")
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        conn.commit()
        try:
            yield conn, raw(b), raw(c)
        finally:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            conn.commit()


def tail(
    conn: psycopg.Connection[Any],
    specs: list[ProjectorSpec],
    names: dict[str, str],
    after: Checkpoint,
    states: BoundedStates,
    *,
    writers_locked_out: bool = False,
    progress: Progress | None = None,
    company: str | None = None,
) -> Checkpoint:
    """Apply the events after `after` to the twins, batch by batch, with the projectors'
    `apply`: the live path's code, on tables that now have their keys. Return where it
    stopped (nothing left that may be read). `company`: that tenant's events only, `after`
    a place in its own order (a sharded log, projections/tenant_rebuild.py)."""
    projectors = [s.projector(names) for s in specs]
    for projector in projectors:
        if isinstance(projector, Deferring):
            projector.defer()  # the twins are this replay's own until the swap
    while True:
        batch = eventlog.read_all(
            conn,
            after,
            limit=BATCH,
            max_bytes=BATCH_BYTES,
            writers_locked_out=writers_locked_out,
            company=company,
        )
        if not batch:
            for projector in projectors:
                if isinstance(projector, Deferring):
                    projector.finish(conn)
            if not writers_locked_out:
                conn.commit()
            return after
        for projector in projectors:
            projector.apply(conn, batch, states)
        after = batch[-1].checkpoint
        if not writers_locked_out:
            conn.commit()  # batch by batch: never hold back other readers' horizon for long
        if progress is not None:
            progress(len(batch))


def fill(
    conns: tuple[psycopg.Connection[Any], psycopg.Connection[Any], psycopg.Connection[Any]],
    specs: list[ProjectorSpec],
    names: dict[str, str],
    *,
    until: Checkpoint | Mapping[str, Checkpoint] | None = None,
    progress: Progress | None = None,
) -> tuple[Checkpoint, Checkpoint]:
    """Steps 1 and 2: empty twins, then the fast path below the current horizon. Return where
    the tail starts (just before the horizon) and the last event replayed (LOG_START if none),
    which is where the twins are until the tail adds to them."""
    conn, reader, writer = conns
    replacement.create(conn, names)
    below = eventlog.horizon(conn)
    if isinstance(until, Mapping):
        # Per-tenant checkpoints (a sharded log): each covers only committed events of its
        # tenant, and the coordinator's horizon is no bound for the workers' `tx` values.
        below = LAST_POSITION
    elif until is not None:
        # A checkpoint only covers committed events (a runner reads below the horizon, a
        # rebuild with writers held off reads everything), so the replay may go as far as it
        # even while the horizon is held back below it: transaction ids are cluster-wide, and
        # a transaction left open in any other database of the server holds it back. Stopping
        # at the horizon would report the live rows past it as differences.
        below = max(below, until.tx + 1)
    conn.commit()
    done = replay.replay(
        reader, writer, projectors(specs, names), below, until=until, progress=progress
    )
    return Checkpoint(below - 1, LAST_POSITION), done.last


def verify(
    engine: Engine,
    specs: list[ProjectorSpec],
    progress: Progress | None = None,
    *,
    companies: list[str] | None = None,
) -> list[Difference]:
    """Replay into twins and compare them with the live tables; [] when they are equal.
    `companies`: on a sharded log, only these tenants' rows of catch-up projections (its
    inline ones are verified per tenant by projections/tenant_verify.py)."""
    inline = [s for s in specs if s.mode == "inline"]
    caught_up = [s for s in specs if s.mode == "catch_up"]
    differences: list[Difference] = []
    names = _twins(specs, "verify")
    with engine.connect() as sa_conn:
        # A sharded log: catch-up projections are verified as of each tenant's checkpoint.
        by_tenant = distribute.log_is_distributed(sa_conn)
        sa_conn.rollback()
    if by_tenant and inline:
        # The SHARE lock on the log below would be sent to every worker: a write stop of the
        # whole cluster. Inline projections are verified per tenant there, without a lock.
        raise distribute.NotYetDistributed(
            "inline projections of a log sharded by tenant are verified tenant by tenant "
            "(projections/tenant_verify.py, what `tasktrack projections verify` runs there)"
        )
    with connections(engine, "verify") as conns:
        conn = conns[0]
        try:
            for spec in caught_up:
                # The live rows and their checkpoint as one consistent picture (a runner may
                # be applying batches meanwhile): copied under one REPEATABLE READ snapshot.
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                until: Checkpoint | dict[str, Checkpoint] = (
                    checkpoints.tenant_checkpoints(conn, spec.name)
                    if by_tenant
                    else checkpoints.read_checkpoint(conn, spec.name)
                )
                held = ""
                if companies is not None and isinstance(until, dict):
                    until = {c: cp for c, cp in until.items() if c in companies}
                    held = " WHERE company = ANY({})"
                for t in spec.tables:
                    conn.execute(f"DROP TABLE IF EXISTS pg_temp.{t}__live")
                    copy = f"CREATE TEMP TABLE {t}__live AS SELECT * FROM {t}{held}"
                    conn.execute(sql.SQL(copy).format(sql.Literal(companies)))
                conn.commit()
                conn.isolation_level = None
                mine = {t: names[t] for t in spec.tables}
                fill(conns, [spec], mine, until=until, progress=progress)
                differences += [
                    d for t in spec.tables for d in compare(conn, t, mine[t], live=f"{t}__live")
                ]
                for t in spec.tables:
                    conn.execute(f"DROP TABLE {t}__live")
                conn.commit()
            if inline:
                mine = {t: names[t] for s in inline for t in s.tables}
                after, _ = fill(conns, inline, mine, progress=progress)
                replacement.build(conns, mine, indexes=False)  # the tail upserts by key
                states = BoundedStates()
                after = tail(conn, inline, mine, after, states, progress=progress)
                # Writers held off (see the module docstring): drain the rest, then compare.
                conn.execute("LOCK TABLE events IN SHARE MODE")
                tail(conn, inline, mine, after, states, writers_locked_out=True)
                differences += [d for t in mine for d in compare(conn, t, mine[t])]
                conn.rollback()
        finally:
            conn.rollback()
            replacement.drop(conn, names)
            conn.commit()
    return differences


def rebuild(
    engine: Engine,
    specs: list[ProjectorSpec],
    progress: Progress | None = None,
    *,
    runner_locks_held: bool = False,
) -> Checkpoint:
    """Replay into twins, then swap them in for the live tables; return the checkpoint the
    rebuilt tables are at. `runner_locks_held`: the caller is the catch-up projectors' runner
    (it holds their locks, projections/runner.py), so they are not taken again here."""
    inline = [s for s in specs if s.mode == "inline"]
    caught_up = [s for s in specs if s.mode == "catch_up"]
    with engine.connect() as sa_conn:
        # Its fast path reads below one horizon and its tail in one order of the whole log,
        # which a sharded log lacks: there the rebuild goes tenant by tenant
        # (projections/tenant_rebuild.py, which `projections rebuild` runs on such a log).
        distribute.refuse_on_distributed_log(sa_conn, "a whole-log swap rebuild")
        sa_conn.rollback()
    names = _twins(specs, "rebuild")
    with ExitStack() as stack:
        if not runner_locks_held:
            for spec in caught_up:
                stack.enter_context(checkpoints.exclusive(engine, spec.name, wait=True))
        conns = stack.enter_context(connections(engine, "rebuild"))
        conn = conns[0]
        try:
            after, at = fill(conns, specs, names, progress=progress)
            renames = replacement.build(conns, names, indexes=True)
            states = BoundedStates()
            after = tail(conn, specs, names, after, states, progress=progress)
            # Writers held off for the last events only (when an inline projection is among
            # them; a catch-up one only needs its own tables), then the swap, atomically.
            _lock_for_swap(conn, list(names), writers=bool(inline))
            after = tail(
                conn,
                specs,
                names,
                after,
                states,
                writers_locked_out=bool(inline),
                progress=progress,
            )
            replacement.swap(conn, names, renames)
            # Where the twins are: the tail's last event, else the fast path's (the same place
            # for a reader of the log: nothing lies between that event and the horizon).
            at = after if after.position != LAST_POSITION else at
            for spec in caught_up:
                checkpoints.write_checkpoint(conn, spec.name, at)
            conn.commit()
        except BaseException:
            conn.rollback()
            replacement.drop(conn, names)
            conn.commit()
            raise
    return at


def _lock_for_swap(conn: psycopg.Connection[Any], live: list[str], *, writers: bool) -> None:
    """Take the live tables for the swap, then hold writers off, backing off while they write.

    Both locks are taken before anything is drained, the live tables first. A command locks
    its task row (a lock on `tasks`), then inserts events, then writes its other rows. Asked
    for first, the SHARE lock on events would be granted while commands that had just locked
    a row went on to wait for it, each holding the `tasks` lock the swap needs next: with
    writers that never pause, every attempt met one (a rebuild held off for minutes, seen in
    tests/integration/test_rebuild_faults.py). Asked for first, the tables' ACCESS EXCLUSIVE
    lock waits only for the commands that hold them, which finish (nothing of theirs waits
    on the rebuild), while new ones queue behind it; then no command is left that could hold
    the log's lock. One that appends before it touches a live table (a creation inserts its
    task row after its event) can still meet the two locks in the other order, so both are
    requested with a short lock timeout, inside a savepoint; on a timeout (or a deadlock) the
    savepoint is rolled back, which releases whatever was granted and lets the waiting
    commands finish, and it tries again. `writers`: also hold writers off (the log's SHARE
    lock), for an inline projection's swap.
    """
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        conn.execute("SAVEPOINT swap_locks")
        try:
            conn.execute("SET LOCAL lock_timeout = '200ms'")
            conn.execute(f"LOCK TABLE {', '.join(live)} IN ACCESS EXCLUSIVE MODE")
            if writers:
                conn.execute("LOCK TABLE events IN SHARE MODE")
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            conn.execute("ROLLBACK TO SAVEPOINT swap_locks")
            if attempt == LOCK_ATTEMPTS:
                raise
            time.sleep(min(0.01 * attempt, 0.5))
            continue
        conn.execute("RELEASE SAVEPOINT swap_locks")
        conn.execute("SET LOCAL lock_timeout = DEFAULT")
        return
