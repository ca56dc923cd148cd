"""Fault guarantees of rebuild, verify and catch-up (issue 15), through their public functions.

Whatever the replay's implementation (shadow tables copied over, or replacement tables swapped
in by rename), these must hold:
- rebuilds and writers never deadlock, and every acknowledged write is in the log exactly once;
- verify names exactly the rows that differ (table, key, kind, columns), and changes nothing;
- a catch-up projector started on an existing log from an empty checkpoint ends where a rebuild
  ends, also when commands keep coming while it catches up.
(Killing a rebuild or a runner with SIGKILL is tests/e2e/test_rebuild_kill.py.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry, runner
from tasktrack.service import Caller

ACTIVITY = registry.BY_NAME["activity_daily"]
ALL = list(registry.PROJECTORS)
SCALAR = "training_stats_scalar"
# Writers pause this long after each acknowledged command. Unpaced, four writers starve the
# current swap (it backs off whenever a command holds a task row and waits to append): its
# rebuilds then took 5 to 127 s here instead of a fraction of a second.
PAUSE = 0.005


@pytest.fixture
def own(own_engine: Engine) -> Client:
    return Client(own_engine, Caller(company="acme", user="alice"))


# --- helpers ----------------------------------------------------------------------------------


def _points(task: str, metric: str, iters: range, variants: tuple[str, ...] = ("a",)) -> list[Any]:
    return [
        {"task": task, "type": SCALAR, "metric": metric, "variant": v, "value": i * 0.5, "iter": i}
        for i in iters
        for v in variants
    ]


def _log(task: str, *messages: str) -> list[Any]:
    return [{"task": task, "type": "log", "msg": m, "level": "info"} for m in messages]


def _fingerprints(engine: Engine) -> dict[str, str]:
    """Every read-model table's row count and a digest of all its rows."""
    out = {}
    with engine.connect() as conn:
        for table in (t for s in registry.PROJECTORS for t in s.tables):
            out[table] = conn.execute(
                text(
                    "SELECT count(*)::text || ':' || "
                    f"coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {table} x"
                )
            ).scalar_one()
    return out


def _log_end(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(position), 0) FROM events")).scalar_one())


def _checkpoint(engine: Engine) -> int:
    (status,) = runner.status(engine, [ACTIVITY])
    return status.position


def _catch_up_to_end(engine: Engine, batch_size: int = 1000) -> int:
    """runner.catch_up until the checkpoint is the end of the log (the commit-safe horizon is
    cluster-wide: another database's open transaction may hold a single catch_up back)."""
    end = _log_end(engine)
    applied = 0
    deadline = time.monotonic() + 60
    while True:
        applied += runner.catch_up(engine, ACTIVITY, batch_size)
        if _checkpoint(engine) == end:
            return applied
        assert time.monotonic() < deadline, "the catch-up never reached the end of the log"
        time.sleep(0.02)


def _activity_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        daily = conn.execute(text("SELECT * FROM activity_daily ORDER BY 1, 2, 3")).fetchall()
        known = conn.execute(text("SELECT * FROM activity_task_projects ORDER BY 1")).fetchall()
    return [("daily", *r) for r in daily] + [("task_project", *r) for r in known]


def _activity_totals(engine: Engine) -> dict[str, int]:
    names = ("tasks_created", "status_changes", "completed", "failed", "metric_reports")
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {', '.join(f'coalesce(sum({n}), 0)' for n in names)} FROM activity_daily")
        ).one()
    return dict(zip(names, (int(v) for v in row), strict=True))


# --- 2. rebuilds and concurrent writers -------------------------------------------------------


class Writer(threading.Thread):
    """Commands on new tasks and on tasks of its own made before the rebuilds; every command
    it got an answer for is remembered as the event it must have appended to its stream."""

    def __init__(self, client: Client, n: int, existing: list[str], stop: threading.Event):
        super().__init__(name=f"writer-{n}")
        self.client, self.n, self.existing, self.stop = client, n, existing, stop
        self.running = dict.fromkeys(existing, True)  # existing tasks are in progress
        self.acked: dict[str, list[str]] = {}
        self.ack_times: list[float] = []
        self.errors: list[BaseException] = []

    def ack(self, *streams_and_types: tuple[str, str]) -> None:
        for stream, kind in streams_and_types:
            self.acked.setdefault(stream, []).append(kind)
        self.ack_times.append(time.monotonic())
        time.sleep(PAUSE)

    def run(self) -> None:
        c = self.client
        i = 0
        try:
            while not self.stop.is_set():
                new = str(c.create(name=f"writer {self.n} #{i}", type="training")["id"])
                self.ack((new, "TaskCreated"))
                c.started(task=new)
                self.ack((new, "TaskStarted"))
                c.add_events(_points(new, "loss", range(3), ("train", "val")))
                self.ack((new, "MetricsReported"))
                c.add_events(_log(new, f"{i} up", f"{i} going"))
                self.ack((new, "TaskLogged"))
                c.edit(task=new, comment=f"writer {self.n} edit {i}", force=True)
                self.ack((new, "TaskEdited"))

                old = self.existing[i % len(self.existing)]
                # One report for two streams (the new task and an old one), in one command.
                c.add_events(
                    _points(new, "acc", range(i, i + 2)) + _points(old, "acc", range(i, i + 2))
                )
                self.ack((new, "MetricsReported"), (old, "MetricsReported"))
                c.add_events(_log(old, f"old {i}"))
                self.ack((old, "TaskLogged"))
                if self.running[old]:
                    c.stopped(task=old)
                    self.ack((old, "TaskStopped"))
                else:
                    c.started(task=old)
                    self.ack((old, "TaskStarted"))
                self.running[old] = not self.running[old]
                c.edit(task=old, comment=f"old edit {i}", force=True)
                self.ack((old, "TaskEdited"))

                if i % 2:
                    c.failed(task=new)
                    self.ack((new, "TaskFailed"))
                else:
                    c.completed(task=new)
                    self.ack((new, "TaskCompleted"))
                i += 1
        except BaseException as exc:
            self.errors.append(exc)


def test_rebuilds_amid_writers_on_new_and_existing_tasks_lose_and_double_nothing(
    own: Client, own_engine: Engine
) -> None:
    """Three consecutive rebuilds of every projection while four writers keep commanding (new
    tasks and tasks of their own from before; creations, starts, metric reports also spanning
    two tasks, log lines, edits, stops and restarts, completions, failures). No writer gets an
    error or hangs, and afterwards each stream holds exactly the acknowledged events, in order,
    once each: no loss, no double, nothing unacknowledged. The read models equal a replay."""
    # A log of some size, so that each rebuild takes a while.
    for i in range(60):
        task = str(own.create(name=f"history {i}", type="training", project=f"p{i % 3}")["id"])
        own.started(task=task)
        own.add_events(_points(task, "loss", range(4), ("train", "val")) + _log(task, "hello"))
        own.completed(task=task)
    existing: list[list[str]] = []
    for n in range(4):
        mine = [str(own.create(name=f"old {n}.{k}", type="training")["id"]) for k in range(3)]
        for task in mine:
            own.started(task=task)
            own.add_events(_points(task, "acc", range(2)) + _log(task, "before"))
        existing.append(mine)
    _catch_up_to_end(own_engine)
    start = _log_end(own_engine)
    with own_engine.connect() as conn:
        base: dict[str, int] = dict(
            conn.execute(text("SELECT stream_id, max(stream_version) FROM events GROUP BY 1")).all()
        )

    stop = threading.Event()
    writers = [Writer(own, n, existing[n], stop) for n in range(4)]
    for w in writers:
        w.start()
    windows = []
    try:
        time.sleep(0.3)
        for _ in range(3):
            began = time.monotonic()
            rebuild.rebuild(own_engine, ALL)
            windows.append((began, time.monotonic()))
            time.sleep(0.1)
    finally:
        stop.set()
        for w in writers:
            w.join(60)
    assert not any(w.is_alive() for w in writers), "a writer hangs (deadlocked?)"
    errors = [e for w in writers for e in w.errors]
    assert not errors, [f"{e!r} (cause {e.__cause__!r})" for e in errors]
    assert all(len(w.ack_times) >= 10 for w in writers), [len(w.ack_times) for w in writers]
    during = sum(a <= t <= b for w in writers for t in w.ack_times for a, b in windows)
    assert during > 0, "no write was acknowledged while a rebuild ran: nothing was concurrent"

    acked: dict[str, list[str]] = {}
    for w in writers:
        for stream, kinds in w.acked.items():
            assert stream not in acked  # each writer has streams of its own
            acked[stream] = kinds
    logged: dict[str, list[tuple[int, str]]] = {}
    with own_engine.connect() as conn:
        for stream, version, kind in conn.execute(
            text(
                "SELECT stream_id, stream_version, type FROM events WHERE position > :p "
                "ORDER BY stream_id, stream_version"
            ),
            {"p": start},
        ):
            logged.setdefault(stream, []).append((version, kind))
    assert set(logged) == set(acked), "streams written without an acknowledgement, or lost"
    for stream, kinds in acked.items():
        first = base.get(stream, 0) + 1
        assert logged[stream] == list(enumerate(kinds, start=first)), stream

    assert rebuild.verify(own_engine, ALL) == []
    for w in writers:
        for task in w.existing:
            view = own.get_by_id(task)
            assert view.status == ("in_progress" if w.running[task] else "stopped")
    _catch_up_to_end(own_engine)
    created = sum(kinds.count("TaskCreated") for kinds in acked.values())
    assert _activity_totals(own_engine)["tasks_created"] == 60 + 12 + created
    assert rebuild.verify(own_engine, ALL) == []


# --- 3. verify names every differing row --------------------------------------------------------


def _tamper_workload(client: Client) -> None:
    projects = [str(client.create_project(name=f"tamper/p{i}")["id"]) for i in range(3)]
    for i in range(5):
        task = str(
            client.create(name=f"tamper {i}", type="training", project=projects[i % 3])["id"]
        )
        client.started(task=task)
        client.add_events(
            _points(task, "loss", range(3), ("train", "val"))
            + _log(task, f"line {i}.1", f"line {i}.2")
        )
        client.edit(task=task, comment=f"comment {i}", force=True)
        client.completed(task=task)
        if i < 3:
            client.create_model(name=f"model {i}", uri=f"file:///m{i}", project=projects[i])


# table: (the primary key, a column to change and its new value as SQL, how to make a new key)
TAMPERED: dict[str, tuple[tuple[str, ...], str, str, tuple[str, str]]] = {
    "tasks": (("company", "id"), "comment", "'tampered'", ("id", "'ghost-task'")),
    "task_status_history": (
        ("company", "task_id", "stream_version"),
        "message",
        "'tampered'",
        ("stream_version", "stream_version + 1000"),
    ),
    "task_metrics": (
        ("company", "task_id", "metric", "variant"),
        "max_value",
        "max_value + 100",
        ("variant", "'ghost'"),
    ),
    "task_metric_points": (
        ("company", "series_id", "iter"),
        "value",
        "value + 100",
        ("iter", "iter + 1000000"),
    ),
    "task_log_lines": (
        ("company", "task_id", "seq"),
        "msg",
        "'tampered'",
        ("seq", "seq + 1000000"),
    ),
    "projects": (("company", "id"), "description", "'tampered'", ("id", "'ghost-project'")),
    "models": (("company", "id"), "comment", "'tampered'", ("id", "'ghost-model'")),
}


def _tamper(engine: Engine) -> set[tuple[str, tuple[tuple[str, Any], ...], str, tuple[str, ...]]]:
    """In each table: change a column of one row, delete another, add a copy of a third under a
    new key (the projects copy also under a new name: it is unique). Return what verify must
    name: (table, key, kind, columns)."""
    expected = set()
    with engine.begin() as conn:
        for table, (key, column, new_value, (key_column, new_key)) in TAMPERED.items():
            rows = conn.execute(
                text(f"SELECT {', '.join(key)} FROM {table} ORDER BY {', '.join(key)} LIMIT 3")
            ).fetchall()
            assert len(rows) == 3, f"the workload left fewer than 3 rows in {table}"
            changed, deleted, copied = (dict(zip(key, r, strict=True)) for r in rows)
            where = " AND ".join(f"{k} = :{k}" for k in key)
            conn.execute(text(f"UPDATE {table} SET {column} = {new_value} WHERE {where}"), changed)
            conn.execute(text(f"DELETE FROM {table} WHERE {where}"), deleted)
            conn.execute(
                text(f"CREATE TEMP TABLE ghost AS SELECT * FROM {table} WHERE {where}"), copied
            )
            name = ", name = name || ' ghost'" if table == "projects" else ""
            conn.execute(text(f"UPDATE ghost SET {key_column} = {new_key}{name}"))
            ghost = conn.execute(text(f"SELECT {', '.join(key)} FROM ghost")).one()
            conn.execute(text(f"INSERT INTO {table} SELECT * FROM ghost"))
            conn.execute(text("DROP TABLE ghost"))
            expected |= {
                (table, tuple(changed.items()), "differs", (column,)),
                (table, tuple(deleted.items()), "missing", ()),
                (table, tuple(zip(key, ghost, strict=True)), "extra", ()),
            }
    return expected


@pytest.mark.tampers
def test_verify_names_exactly_the_tampered_rows_and_changes_nothing(
    own: Client, own_engine: Engine
) -> None:
    """A changed column, a deleted row and an extra row in each of seven read models: verify
    reports exactly those 21 rows (table, key, kind and the changed column), nothing else, and
    leaves every live table as it found it (a second verify agrees; a rebuild then repairs)."""
    _tamper_workload(own)
    _catch_up_to_end(own_engine)
    assert rebuild.verify(own_engine, ALL) == []
    expected = _tamper(own_engine)
    assert len(expected) == 3 * len(TAMPERED)
    before = _fingerprints(own_engine)

    found = rebuild.verify(own_engine, ALL)

    assert _fingerprints(own_engine) == before, "verify changed the live tables"
    named = [(d.table, tuple(sorted(d.key.items())), d.kind, tuple(d.columns)) for d in found]
    assert len(named) == len(set(named)), "a difference named twice"
    assert {(t, tuple(sorted(k)), kind, c) for t, k, kind, c in expected} == set(named)
    assert rebuild.verify(own_engine, ALL) == found
    assert _fingerprints(own_engine) == before
    rebuild.rebuild(own_engine, ALL)
    assert rebuild.verify(own_engine, ALL) == []


# --- 4. a catch-up projector from an empty checkpoint -------------------------------------------


def _activity_workload(client: Client, tasks: int) -> None:
    for i in range(tasks):
        task = str(client.create(name=f"rollup {i}", type="training", project=f"r{i % 4}")["id"])
        client.started(task=task)
        client.add_events(_points(task, "loss", range(3)))
        if i % 5 == 0:
            client.edit(task=task, project="moved", force=True)
        if i % 7 == 0:
            client.reset(task=task, force=True)
            continue
        if i % 3 == 0:
            client.failed(task=task)
        else:
            client.completed(task=task)
        if i % 11 == 0:
            client.delete(task=task, force=True)


def test_a_catch_up_from_an_empty_checkpoint_ends_where_a_rebuild_ends(
    own: Client, own_engine: Engine
) -> None:
    """The activity rollup loses its checkpoint and its rows on an existing log (as a projector
    added by a later release starts) and catches up in small batches while a writer keeps
    creating tasks: once at the end of the log it equals a replay (verify), exactly what a
    rebuild of it gives, and its counts are those of the commands (nothing twice, nothing
    lost); a further catch-up applies nothing."""
    _activity_workload(own, 120)
    _catch_up_to_end(own_engine)
    with own_engine.begin() as conn:
        conn.execute(
            text("DELETE FROM projector_checkpoints WHERE name = :n"), {"n": ACTIVITY.name}
        )
        for table in ACTIVITY.tables:
            conn.execute(text(f"DELETE FROM {table}"))
    assert _checkpoint(own_engine) == 0
    assert _activity_rows(own_engine) == []

    stop = threading.Event()
    written: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                task = str(own.create(name="meanwhile", type="training", project="live")["id"])
                own.started(task=task)
                own.add_events(_points(task, "loss", range(2)))
                own.completed(task=task)
                written.append(task)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # From zero, in small batches, with commands landing meanwhile (and until a few did).
        # (Not until a catch_up finds nothing: a writer that never pauses may never leave it
        # a quiet moment.)
        deadline = time.monotonic() + 60
        runner.catch_up(own_engine, ACTIVITY, batch_size=50)
        while len(written) < 3:
            runner.catch_up(own_engine, ACTIVITY, batch_size=50)
            assert not errors, errors
            assert time.monotonic() < deadline, "the writer never wrote"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    assert not errors, errors
    assert written, "the writer wrote nothing while the projector caught up"
    _catch_up_to_end(own_engine, batch_size=50)
    assert runner.catch_up(own_engine, ACTIVITY) == 0

    caught_up = _activity_rows(own_engine)
    assert caught_up
    assert rebuild.verify(own_engine, ALL) == []
    with own_engine.connect() as conn:
        created, reports = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE type = 'TaskCreated'), "
                "count(*) FILTER (WHERE type = 'MetricsReported') FROM events"
            )
        ).one()
    totals = _activity_totals(own_engine)
    assert totals["tasks_created"] == created == 120 + len(written)
    assert totals["metric_reports"] == reports == 120 + len(written)
    with own_engine.connect() as conn:
        live = conn.execute(
            text("SELECT sum(tasks_created) FROM activity_daily WHERE project = 'live'")
        ).scalar_one()
    assert live == len(written)

    rebuild.rebuild(own_engine, [ACTIVITY])
    assert _activity_rows(own_engine) == caught_up
    assert _checkpoint(own_engine) == _log_end(own_engine)
