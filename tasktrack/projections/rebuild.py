"""Rebuild and verify: replay the whole log into shadow tables with the projectors' own code.

The replay streams the log in commit-safe batches (memory stays flat: a bounded cache of task
states, the rest re-read from the shadow tables). Shadows are TEMP tables of the live tables'
shape: private to this session, gone if it dies.

Inline projections are written by every command, so the last stretch is done with writers
held off: `LOCK TABLE events IN SHARE MODE` waits for transactions that inserted events to
finish and blocks new inserts, the remaining events are drained, and then, in that same
transaction, the shadows are compared with the live tables (verify) or copied over them
(rebuild: TRUNCATE + INSERT, atomic, keeping the live tables' grants, indexes and views;
the live tables are locked together with the log, see `_lock_for_swap`).
Catch-up projections are rebuilt under their runner lock and get their checkpoint with their
rows; they are verified as of their own checkpoint (a replay up to it must equal them).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Engine

from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.domain.state import TaskState
from tasktrack.projections import runner
from tasktrack.projections.base import Deferring
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store import eventlog, tables
from tasktrack.store.engine import raw

# A replay batch: at most BATCH events and BATCH_BYTES of payload. Counting events alone, a
# batch of 2,000 metric reports of 500 points each would be a million decoded points (about
# 100 MB); the byte budget keeps a replay's memory flat whatever the events.
BATCH = 2000
BATCH_BYTES = 4 * 1024 * 1024
LOCK_ATTEMPTS = 300
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


def shadow(table: str) -> str:
    return f"{table}__shadow"


def _create_shadows(conn: psycopg.Connection[Any], specs: list[ProjectorSpec]) -> None:
    for spec in specs:
        for table in spec.tables:
            conn.execute(f"DROP TABLE IF EXISTS pg_temp.{shadow(table)}")
            # The live table's shape and its primary key (the projectors' ON CONFLICT target),
            # but none of its other indexes: a replay writes every row several times, and
            # maintaining a dozen indexes (GIN on tags among them) on each write would be most
            # of its cost. The live indexes are maintained once, by the copy-over.
            conn.execute(
                f"CREATE TEMP TABLE {shadow(table)} (LIKE {table} INCLUDING DEFAULTS "
                "INCLUDING GENERATED INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
            )
            key = ", ".join(_key_columns(table))
            conn.execute(f"ALTER TABLE {shadow(table)} ADD PRIMARY KEY ({key})")


def _replay(
    conn: psycopg.Connection[Any],
    specs: list[ProjectorSpec],
    after: Checkpoint,
    states: BoundedStates,
    *,
    until: Checkpoint | None = None,
    writers_locked_out: bool = False,
    progress: Progress | None = None,
) -> Checkpoint:
    """Apply events after `after` (up to `until`) to the shadows; return where it stopped."""
    projectors = [s.projector({t: shadow(t) for t in s.tables}) for s in specs]
    for projector in projectors:
        if isinstance(projector, Deferring):
            projector.defer()  # the shadows are private to this replay until it ends
    while True:
        batch = eventlog.read_all(
            conn,
            after,
            limit=BATCH,
            max_bytes=BATCH_BYTES,
            writers_locked_out=writers_locked_out,
        )
        if until is not None:
            batch = [r for r in batch if r.checkpoint <= until]
        if not batch:
            for projector in projectors:
                if isinstance(projector, Deferring):
                    projector.finish(conn)
            if not writers_locked_out:
                conn.commit()  # end the reading transaction: the caller starts its own next
            return after
        for projector in projectors:
            projector.apply(conn, batch, states)
        after = batch[-1].checkpoint
        if not writers_locked_out:
            conn.commit()  # batch by batch: never hold back other readers' horizon for long
        if progress is not None:
            progress(len(batch))


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


def verify(
    engine: Engine, specs: list[ProjectorSpec], progress: Progress | None = None
) -> list[Difference]:
    """Replay into shadows and compare with the live tables; [] when they are equal."""
    inline = [s for s in specs if s.mode == "inline"]
    caught_up = [s for s in specs if s.mode == "catch_up"]
    differences: list[Difference] = []
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        _create_shadows(conn, specs)
        conn.commit()
        for spec in caught_up:
            # The live rows and their checkpoint as one consistent picture (a runner may be
            # applying batches meanwhile): copy both under one REPEATABLE READ snapshot.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            until = runner.read_checkpoint(conn, spec.name)
            for t in spec.tables:
                conn.execute(f"CREATE TEMP TABLE {t}__live AS SELECT * FROM {t}")
            conn.commit()
            conn.isolation_level = None
            _replay(conn, [spec], LOG_START, BoundedStates(), until=until, progress=progress)
            differences += [
                d for t in spec.tables for d in compare(conn, t, shadow(t), live=f"{t}__live")
            ]
            for t in spec.tables:
                conn.execute(f"DROP TABLE {t}__live")
            conn.commit()
        if inline:
            states = BoundedStates()
            at = _replay(conn, inline, LOG_START, states, progress=progress)
            # Writers held off (see the module docstring): drain the rest, then compare.
            conn.execute("LOCK TABLE events IN SHARE MODE")
            _replay(conn, inline, at, states, writers_locked_out=True, progress=progress)
            differences += [
                d for s in inline for t in s.tables for d in compare(conn, t, shadow(t))
            ]
            conn.rollback()
    return differences


def rebuild(
    engine: Engine, specs: list[ProjectorSpec], progress: Progress | None = None
) -> Checkpoint:
    """Replay into shadows, then replace the live tables with them atomically."""
    inline = [s for s in specs if s.mode == "inline"]
    caught_up = [s for s in specs if s.mode == "catch_up"]
    end = LOG_START
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        _create_shadows(conn, specs)
        conn.commit()
        for spec in caught_up:
            with runner.exclusive(engine, spec.name, wait=True):
                at = _replay(conn, [spec], LOG_START, BoundedStates(), progress=progress)
                # The rows and their checkpoint, in one transaction.
                _copy_over(conn, spec)
                runner.write_checkpoint(conn, spec.name, at)
                conn.commit()
                end = max(end, at)
        if inline:
            states = BoundedStates()
            at = _replay(conn, inline, LOG_START, states, progress=progress)
            # Writers held off (see the module docstring): drain the rest, then swap, atomically.
            _lock_for_swap(conn, [t for s in inline for t in s.tables])
            at = _replay(conn, inline, at, states, writers_locked_out=True, progress=progress)
            for spec in inline:
                _copy_over(conn, spec)
            conn.commit()
            end = max(end, at)
    return end


def _lock_for_swap(conn: psycopg.Connection[Any], live: list[str]) -> None:
    """Hold writers off and take the live tables for the swap, backing off while they write.

    Both locks are taken before anything is drained. A command reads a task row, then inserts
    events, then writes metric rows: were the TRUNCATE's ACCESS EXCLUSIVE lock taken only at
    the copy, behind the SHARE lock on events, a command holding a read lock on `tasks` and
    waiting to insert would deadlock with it. So both are requested with a short lock timeout,
    inside a savepoint; on a timeout (or a deadlock) the savepoint is rolled back, which
    releases whatever was granted and lets the waiting commands finish, and it tries again.
    """
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        conn.execute("SAVEPOINT swap_locks")
        try:
            conn.execute("SET LOCAL lock_timeout = '200ms'")
            conn.execute("LOCK TABLE events IN SHARE MODE")
            conn.execute(f"LOCK TABLE {', '.join(live)} IN ACCESS EXCLUSIVE MODE")
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            conn.execute("ROLLBACK TO SAVEPOINT swap_locks")
            if attempt == LOCK_ATTEMPTS:
                raise
            time.sleep(min(0.01 * attempt, 0.5))
            continue
        conn.execute("RELEASE SAVEPOINT swap_locks")
        conn.execute("SET LOCAL lock_timeout = DEFAULT")
        return


def _copy_over(conn: psycopg.Connection[Any], spec: ProjectorSpec) -> None:
    for table in spec.tables:
        conn.execute(f"TRUNCATE {table}")
        conn.execute(f"INSERT INTO {table} SELECT * FROM {shadow(table)}")
