"""`tasktrack projections rebuild|verify|run` killed with SIGKILL at any point (issue 15).

A rebuild killed anywhere leaves the live read models as they were or wholly replaced, never
half; the app keeps serving; whatever the killed process left behind does not stop the next
rebuild. A killed verify changes nothing. A catch-up projector killed again and again on its
way from an empty checkpoint resumes without counting anything twice.

To tell "as they were" from "replaced", one row of every read model is marked (changed) before
each kill: a rebuild that completes repairs the marks, one that never swaps leaves them all. The
inline read models are replaced together (one swap); a catch-up projector's tables with their
checkpoint, on their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine
from tests import pgserver, settle
from tests.e2e.cli import TASKTRACK, ok, run

# Every test here alters read models on purpose (marks, a forgotten projector) and repairs them.
pytestmark = pytest.mark.tampers

ALL = list(registry.PROJECTORS)
ACTIVITY = registry.BY_NAME["activity_daily"]
SCALAR = "training_stats_scalar"
TASKS = 400  # about 2,400 events: the current rebuild replays them in about half a second
CATCH_UP_TASKS = 200  # 800 events: 40 batches of 20

# How to mark one row of each read model (a change a replay undoes).
MARKS = {
    "tasks": "comment = 'marked'",
    "task_status_history": "message = 'marked'",
    "queues": "user_id = 'marked'",
    "queue_entries": "rank = rank + 1000",
    "task_metrics": "max_value = max_value + 1000",
    "task_metric_points": "value = value + 1000",
    "task_metric_series": "points = points + 1000",
    "task_runs": "run = run + 1000",
    "task_log_lines": "msg = 'marked'",
    "task_reported_events": "body = 'marked'",
    "projects": "description = 'marked'",
    "models": "comment = 'marked'",
    "activity_daily": "completed = completed + 1000",
    "activity_task_projects": "project = 'marked'",
}
# Tables replaced together: all inline read models at once; each catch-up projector's own.
GROUPS = [
    frozenset(t for s in ALL if s.mode == "inline" for t in s.tables),
    *(frozenset(s.tables) for s in ALL if s.mode == "catch_up"),
]


@dataclass
class LogDb:
    url: str
    engine: Engine
    watcher: psycopg.Connection[Any]  # autocommit: pg_stat_activity is fresh on every query
    rebuild_s: float  # from the rebuild's first connection to its exit
    verify_s: float


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    env["TASKTRACK_DATABASE_URL"] = url
    return env


def _fill(engine: Engine, tasks: int) -> None:
    client = Client(engine, Caller(company="ops", user="olga"))
    projects = [str(client.create_project(name=f"kill/p{i}")["id"]) for i in range(3)]
    for i in range(tasks):
        task = str(client.create(name=f"job {i}", type="training", project=projects[i % 3])["id"])
        client.enqueue(task=task, queue_name=f"q{i % 2}")
        client.started(task=task)
        client.add_events(
            [
                {
                    "task": task,
                    "type": SCALAR,
                    "metric": "loss",
                    "variant": v,
                    "value": 1.0 / (it + 1),
                    "iter": it,
                }
                for it in range(5)
                for v in ("train", "val")
            ]
            + [{"task": task, "type": "log", "msg": f"job {i} done"}]
            + [{"task": task, "type": "plot", "metric": "roc", "iter": 4, "plot_str": "{}"}]
        )
        if i % 10 == 0:  # a second run (task_runs), with a point of its own
            client.reset(task=task, force=True)
            client.started(task=task)
            client.add_events([{"task": task, "type": SCALAR, "metric": "loss", "value": 0.5}])
        if i % 4 == 0:
            client.failed(task=task)
        else:
            client.completed(task=task)
        if i < 3:
            client.create_model(name=f"model {i}", uri=f"file:///m{i}", project=projects[i])
    for i in range(3):  # tasks still waiting in a queue's line
        waiting = str(client.create(name=f"waiting {i}", type="training")["id"])
        client.enqueue(task=waiting, queue_name="q0")


def _backends(watcher: psycopg.Connection[Any], known: list[int] | None = None) -> list[int]:
    """Client backends of this database (except the `known` ones)."""
    return [
        r[0]
        for r in watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> ALL(%s)",
            (known or [],),
        )
    ]


def _until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


@dataclass
class Spawned:
    process: subprocess.Popen[str]
    known: list[int]  # the database's backends before it started
    pids: list[int]  # its backends, as far as seen

    def connected(self, watcher: psycopg.Connection[Any]) -> bool:
        self.pids += [p for p in _backends(watcher, self.known) if p not in self.pids]
        return bool(self.pids) or self.process.poll() is not None

    def wait_connected(self, watcher: psycopg.Connection[Any]) -> None:
        _until(lambda: self.connected(watcher), "it never connected")


def _spawn(url: str, watcher: psycopg.Connection[Any], *args: str) -> Spawned:
    known = _backends(watcher)
    process = subprocess.Popen(
        [TASKTRACK, "projections", *args],
        env=_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Spawned(process, known, [])


def _kill(
    spawned: Spawned,
    watcher: psycopg.Connection[Any],
    then: Callable[[], None] = lambda: None,
    *,
    finished: int = 0,
) -> bool:
    """SIGKILL it (if still running), do `then`, and wait until the server has ended its
    sessions. Return whether the kill landed (the process had not finished on its own, with
    the exit status `finished`)."""
    spawned.connected(watcher)
    if spawned.process.poll() is None:
        spawned.process.send_signal(signal.SIGKILL)
    _, err = spawned.process.communicate(timeout=30)
    # The process can end on its own between the poll and the signal (a kill timed near the
    # end of its run): its exit status, not the poll, says whether the kill landed.
    landed = spawned.process.returncode == -signal.SIGKILL
    if not landed:
        assert spawned.process.returncode == finished, err
    then()
    _until(
        lambda: not set(_backends(watcher)) & set(spawned.pids),
        "the killed process's sessions never ended",
    )
    return landed


def _wait(spawned: Spawned) -> tuple[int, str, str]:
    out, err = spawned.process.communicate(timeout=120)
    return spawned.process.returncode, out, err


def _window(url: str, watcher: psycopg.Connection[Any], *args: str, runs: int = 2) -> float:
    """Seconds from the command's first connection to its exit (the shortest of `runs`)."""
    spans = []
    for _ in range(runs):
        spawned = _spawn(url, watcher, *args)
        spawned.wait_connected(watcher)
        connected = time.monotonic()
        code, _, err = _wait(spawned)
        assert code == 0, err
        spans.append(time.monotonic() - connected)
    return min(spans)


@pytest.fixture(scope="module")
def logdb(new_migrated_database: Callable[[], str]) -> Iterator[LogDb]:
    url = new_migrated_database()
    engine = make_engine(url, pool_size=3)
    _fill(engine, TASKS)
    settle.horizon_reaches_end(engine)
    with psycopg.connect(pgserver.libpq(url), autocommit=True) as watcher:
        rebuild_s = _window(url, watcher, "rebuild")
        verify_s = _window(url, watcher, "verify", runs=1)
        yield LogDb(url, engine, watcher, rebuild_s, verify_s)
    engine.dispose()


def _mark(engine: Engine) -> list[rebuild.Difference]:
    """Change one row of every read model; return what verify says about it."""
    tables = {t for s in ALL for t in s.tables}
    assert tables == set(MARKS), f"a read model without a mark: {tables ^ set(MARKS)}"
    with engine.begin() as conn:
        for table, change in MARKS.items():
            changed = conn.execute(
                text(f"UPDATE {table} SET {change} WHERE ctid = (SELECT ctid FROM {table} LIMIT 1)")
            ).rowcount
            assert changed == 1, f"{table} is empty: the workload must fill every read model"
    marked = rebuild.verify(engine, ALL)
    assert {d.table for d in marked} == set(MARKS)
    return marked


def _as_they_were_or_replaced(
    before: list[rebuild.Difference], after: list[rebuild.Difference]
) -> list[str]:
    """Each group of tables either still has all its marks or none: never half."""
    outcomes = []
    assert {d.table for d in after} <= {d.table for d in before}, after
    for group in GROUPS:
        marks = [d for d in before if d.table in group]
        left = [d for d in after if d.table in group]
        assert left in (marks, []), f"half replaced: {sorted(group)} still differ in {left}"
        outcomes.append("kept" if left else "replaced")
    return outcomes


def _still_serves(engine: Engine) -> None:
    """Reads and writes work: a new task's whole life, and a read of an old one."""
    client = Client(engine, Caller(company="after-kill", user="bob"))
    task = str(client.create(name="after the kill", type="training", project="k")["id"])
    client.started(task=task)
    client.add_events(
        [
            {"task": task, "type": SCALAR, "metric": "m", "value": 2.0, "iter": 1},
            {"task": task, "type": "log", "msg": "still here"},
        ]
    )
    client.completed(task=task)
    assert client.get_by_id(task).status == "completed"
    assert task in {t.id for t in client.get_all()}
    with engine.connect() as conn:
        old = conn.execute(
            text("SELECT id FROM tasks WHERE company = 'ops' AND name LIKE 'job %' LIMIT 1")
        ).scalar_one()
    ops = Client(engine, Caller(company="ops", user="olga"))
    assert ops.get_by_id(old).status in ("completed", "failed")


def _then_a_rebuild_succeeds(db: LogDb) -> None:
    ok(run("projections", "rebuild", env={"TASKTRACK_DATABASE_URL": db.url}))
    assert rebuild.verify(db.engine, ALL) == []


# Where the kill lands: before the process has connected, or at this fraction of the time
# from its first connection to its exit in an undisturbed run.
AT = [None, 0.0, 0.3, 0.55, 0.75, 0.9]


@pytest.mark.parametrize("fraction", AT, ids=["before-connecting"] + [f"{f:.0%}" for f in AT[1:]])
def test_a_killed_rebuild_leaves_the_read_models_as_they_were_or_replaced(
    logdb: LogDb, fraction: float | None
) -> None:
    """Killed at one point of its run: the marks of each group of tables are all still there
    or all gone, the app reads and writes, the next rebuild succeeds and equals the log."""
    delay = None if fraction is None else fraction * logdb.rebuild_s
    for _ in range(5):
        before = _mark(logdb.engine)
        spawned = _spawn(logdb.url, logdb.watcher, "rebuild")
        if delay is None:
            time.sleep(0.05)
        else:
            spawned.wait_connected(logdb.watcher)
            time.sleep(delay)
        landed = _kill(spawned, logdb.watcher)
        outcome = _as_they_were_or_replaced(before, rebuild.verify(logdb.engine, ALL))
        when = "before connecting" if delay is None else f"{delay:.3f} s after connecting"
        print(f"rebuild killed {when} (landed: {landed}): {outcome}")
        _still_serves(logdb.engine)
        _then_a_rebuild_succeeds(logdb)
        if landed:
            return
        delay = 0.7 * (delay or 0)  # it finished first (a quicker run): kill sooner
    pytest.fail("the rebuild finished before every kill: the kill never landed")


# The first and the last of the inline read models to be replaced (in registry order).
HELD = ["tasks", "models"]


@pytest.mark.parametrize("held", HELD)
def test_a_rebuild_killed_while_waiting_for_a_live_table(logdb: LogDb, held: str) -> None:
    """A reader holds one live table, so the rebuild has to wait for it to replace that table;
    it is killed while waiting. Were the tables replaced one after the other, those before the
    held one would be new and the rest old: half. A command that waited behind the killed
    rebuild gets through once the reader is gone."""
    before = _mark(logdb.engine)
    with psycopg.connect(pgserver.libpq(logdb.url)) as reader:
        reader.execute(f"SELECT count(*) FROM {held}")  # holds ACCESS SHARE until rollback
        spawned = _spawn(logdb.url, logdb.watcher, "rebuild")

        def waiting() -> bool:
            spawned.connected(logdb.watcher)
            row = logdb.watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)",
                (spawned.pids,),
            ).fetchone()
            return bool(row and row[0]) or spawned.process.poll() is not None

        _until(waiting, "the rebuild never waited for the reader", timeout=120)
        errors: list[BaseException] = []
        done = threading.Event()

        def command() -> None:
            try:
                Client(logdb.engine, Caller(company="ops", user="olga")).create(
                    name="waiting writer", type="training"
                )
                done.set()
            except BaseException as exc:
                errors.append(exc)

        writer = threading.Thread(target=command)
        writer.start()
        time.sleep(0.1)
        landed = _kill(spawned, logdb.watcher, then=reader.rollback)
        assert landed, f"the rebuild ended while a reader held {held}"
    writer.join(30)
    assert done.is_set(), errors
    outcome = _as_they_were_or_replaced(before, rebuild.verify(logdb.engine, ALL))
    print(f"killed while waiting for {held}: {outcome}")
    _still_serves(logdb.engine)
    _then_a_rebuild_succeeds(logdb)


def _fingerprints(engine: Engine) -> dict[str, str]:
    out = {}
    with engine.connect() as conn:
        for table in MARKS:
            out[table] = conn.execute(
                text(
                    "SELECT count(*)::text || ':' || "
                    f"coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {table} x"
                )
            ).scalar_one()
    return out


@pytest.mark.parametrize("fraction", [0.3, 0.8], ids=["30%", "80%"])
def test_a_killed_verify_changes_nothing(logdb: LogDb, fraction: float) -> None:
    """A verify killed mid-way leaves every live table as it was (the marks included), and
    nothing it left behind stops the next verify or rebuild."""
    before = _mark(logdb.engine)
    live = _fingerprints(logdb.engine)
    delay = fraction * logdb.verify_s
    landed = False
    for _ in range(5):
        spawned = _spawn(logdb.url, logdb.watcher, "verify")
        spawned.wait_connected(logdb.watcher)
        time.sleep(delay)
        # A verify that ended before the kill found the marks: exit status 1.
        if _kill(spawned, logdb.watcher, finished=1):
            landed = True
            break
        delay *= 0.7
    assert landed, "the verify finished before every kill"
    assert _fingerprints(logdb.engine) == live
    assert rebuild.verify(logdb.engine, ALL) == before
    _then_a_rebuild_succeeds(logdb)


# --- a catch-up projector from an empty checkpoint, killed on its way ----------------------


def _checkpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT position FROM projector_checkpoints WHERE name = 'activity_daily'")
        ).scalar()
    return int(found or 0)


def _activity(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        daily = conn.execute(text("SELECT * FROM activity_daily ORDER BY 1, 2, 3")).fetchall()
        known = conn.execute(text("SELECT * FROM activity_task_projects ORDER BY 1")).fetchall()
    return [tuple(r) for r in daily] + [tuple(r) for r in known]


def _progress(engine: Engine, spawned: Spawned, previous: int, timeout: float) -> None:
    """Until the checkpoint is past `previous`, the process has ended, or `timeout`."""
    deadline = time.monotonic() + timeout
    while (
        _checkpoint(engine) <= previous
        and spawned.process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.005)


def _forget(engine: Engine) -> None:
    """The projector as a later release would add it: no checkpoint, no rows."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM projector_checkpoints WHERE name = 'activity_daily'"))
        for table in ACTIVITY.tables:
            conn.execute(text(f"DELETE FROM {table}"))


def test_a_catch_up_from_zero_killed_again_and_again_resumes_without_double_counting(
    db: tuple[str, Engine],
) -> None:
    """`projections run` of the activity rollup from an empty checkpoint on an 800-event log,
    killed inside a batch of each run, run after run: after every kill its rows are
    exactly a replay up to its checkpoint (nothing applied twice or lost), the checkpoint never
    goes back, and the last run ends where an undisturbed run and a rebuild end."""
    url, engine = db
    client = Client(engine, Caller(company="ops", user="olga"))
    for i in range(CATCH_UP_TASKS):
        task = str(client.create(name=f"job {i}", type="training", project=f"p{i % 3}")["id"])
        client.started(task=task)
        client.add_events([{"task": task, "type": SCALAR, "metric": "m", "value": 1.0, "iter": i}])
        client.completed(task=task)
    end = settle.horizon_reaches_end(engine)
    args = ("run", "--wait", "--batch-size", "20")
    with psycopg.connect(pgserver.libpq(url), autocommit=True) as watcher:
        # Undisturbed, from zero (a fresh database: no checkpoint yet), timed.
        spawned = _spawn(url, watcher, *args)
        spawned.wait_connected(watcher)
        connected = time.monotonic()
        code, _, err = _wait(spawned)
        assert code == 0, err
        span = time.monotonic() - connected
        assert _checkpoint(engine) == end
        wanted = _activity(engine)
        assert wanted
        rebuild.rebuild(engine, [ACTIVITY])
        assert _activity(engine) == wanted  # what a replay gives
        _forget(engine)

        reached = [0]
        landed = []
        for _ in range(6):
            spawned = _spawn(url, watcher, *args)
            spawned.wait_connected(watcher)
            # Once it has moved its checkpoint on (or after half an undisturbed run, should it
            # move it only at the end), a moment more, so that it is inside a batch.
            _progress(engine, spawned, reached[-1], 0.5 * span)
            time.sleep(0.05 * span)
            landed.append(_kill(spawned, watcher))
            at = _checkpoint(engine)
            # The rows are exactly those of the events up to the checkpoint: none twice.
            assert rebuild.verify(engine, [ACTIVITY]) == []
            assert at >= reached[-1], "the checkpoint went back"
            reached.append(at)
            if not landed[-1] or at == end:
                break
    print(f"checkpoints after each kill: {reached[1:]} of {end}; landed: {landed}")
    assert sum(landed) >= 2, f"too few kills landed: checkpoints {reached} of {end}"
    ok(run("projections", "run", env={"TASKTRACK_DATABASE_URL": url}))
    assert _checkpoint(engine) == end
    assert _activity(engine) == wanted
    with engine.connect() as conn:
        totals = conn.execute(
            text(
                "SELECT sum(tasks_created), sum(status_changes), sum(metric_reports) "
                "FROM activity_daily"
            )
        ).one()
    assert tuple(totals) == (CATCH_UP_TASKS, 2 * CATCH_UP_TASKS, CATCH_UP_TASKS)
