"""Catch-up runner, rebuild and verify against real PostgreSQL (issue: auditors and operators)."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain import events as ev
from tasktrack.projections import bulk, rebuild, registry, runner
from tasktrack.projections.metrics import MetricsProjector
from tasktrack.service import Caller
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tests import settle

ACTIVITY = registry.BY_NAME["activity_daily"]
SCALAR = "training_stats_scalar"


@pytest.fixture
def own(own_engine: Engine) -> Client:
    return Client(own_engine, Caller(company="acme", user="alice"))


def catch_up_fully(engine: Engine, batch_size: int = 1000) -> int:
    """Catch up until the checkpoint is the end of the log. The commit-safe horizon is
    cluster-wide: a write transaction of any database of the shared test server, still open,
    holds it back for a moment, and a single catch_up may stop short of the end."""
    applied = 0
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        end = conn.execute(text("SELECT max(position) FROM events")).scalar_one()
    while True:
        applied += runner.catch_up(engine, ACTIVITY, batch_size)
        (status,) = runner.status(engine, [ACTIVITY])
        if status.position == end:
            return applied
        assert time.monotonic() < deadline, "the horizon never reached the end of the log"
        time.sleep(0.02)


def _workload(client: Client, tasks: int = 6) -> list[str]:
    ids = []
    for i in range(tasks):
        project = f"p{i % 2}"
        task = str(client.create(name=f"task {i}", type="training", project=project)["id"])
        ids.append(task)
        client.enqueue(task=task, queue_name="q")
        client.started(task=task)
        client.add_events(
            [
                {"task": task, "type": SCALAR, "metric": "loss", "value": v, "iter": it}
                for it, v in enumerate([3.0, 2.0, 1.0])
            ]
        )
        if i % 3 == 0:
            client.failed(task=task)
        else:
            client.completed(task=task)
    client.edit(task=ids[1], project="p9", force=True)
    client.reset(task=ids[0])
    client.delete(task=ids[0], force=True)
    return ids


def _expected_activity(engine: Engine) -> dict[tuple[str, str], Counter[str]]:
    """The rollup computed independently, straight from the decoded log."""
    project: dict[str, str] = {}
    out: dict[tuple[str, str], Counter[str]] = {}
    with engine.connect() as sa_conn:
        records = eventlog.read_all(raw(sa_conn), limit=100_000)
        sa_conn.rollback()
    for r in records:
        e = r.event
        if isinstance(e, ev.TaskCreated):
            project[r.stream_id] = e.project or ""
        if isinstance(e, ev.TaskEdited) and isinstance(e.changes.project, str):
            project[r.stream_id] = e.changes.project
        if r.stream_id not in project:
            continue
        c = out.setdefault((project[r.stream_id], str(e.at.astimezone(UTC).date())), Counter())
        c["tasks_created"] += isinstance(e, ev.TaskCreated)
        change = ev.status_change(e)
        c["status_changes"] += change is not None
        c["completed"] += change is not None and change.to_status == "completed"
        c["failed"] += change is not None and change.to_status == "failed"
        if isinstance(e, ev.MetricsReported):
            c["metric_reports"] += 1
            c["metric_points"] += len(e.series)
    return out


def _activity(engine: Engine) -> dict[tuple[str, str], Counter[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT project, day::text, tasks_created, status_changes, completed, failed, "
                "metric_reports, metric_points FROM activity_daily"
            )
        ).fetchall()
    names = (
        "tasks_created",
        "status_changes",
        "completed",
        "failed",
        "metric_reports",
        "metric_points",
    )
    return {(r[0], r[1]): Counter(dict(zip(names, r[2:], strict=True))) for r in rows}


def test_the_runner_builds_the_rollup_exactly_once(own: Client, own_engine: Engine) -> None:
    _workload(own)
    assert _activity(own_engine) == {}
    applied = catch_up_fully(own_engine, batch_size=7)  # many small batches
    assert applied > 0
    expected = _expected_activity(own_engine)
    assert _activity(own_engine) == {k: v for k, v in expected.items() if +v}
    assert runner.catch_up(own_engine, ACTIVITY) == 0  # nothing twice
    assert _activity(own_engine) == {k: v for k, v in expected.items() if +v}
    (status,) = runner.status(own_engine, [ACTIVITY])
    assert status.pending == 0
    assert status.position > 0


def test_one_runner_per_projector(own_engine: Engine) -> None:
    with (
        runner.exclusive(own_engine, ACTIVITY.name, wait=False),
        pytest.raises(runner.ProjectorBusy),
        runner.exclusive(own_engine, ACTIVITY.name, wait=False),
    ):
        pass
    with runner.exclusive(own_engine, ACTIVITY.name, wait=False):
        pass  # released: it can be taken again


@contextmanager
def _following(own: Client, engine: Engine) -> Iterator[None]:
    """A follower of the rollup polling only every 60 s: anything quicker is a wake-up."""
    stop = threading.Event()
    follower = threading.Thread(
        target=runner.follow,
        args=(engine, [ACTIVITY]),
        kwargs={"poll_seconds": 60.0, "should_stop": stop.is_set},
    )
    follower.start()
    try:
        time.sleep(0.5)
        yield
    finally:
        stop.set()
        own.create(name="last one", type="training")  # a notification to end its wait
        follower.join(30)


def _applied_within(engine: Engine, project: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p == project for p, _ in _activity(engine)):
            return True
        time.sleep(0.05)
    return False


def test_a_follower_wakes_on_notify(own: Client, own_engine: Engine) -> None:
    with _following(own, own_engine):
        own.create(name="wake up", type="training", project="bell")
        assert _applied_within(own_engine, "bell", 10), "no wake-up within 10 s (poll: 60 s)"


def test_a_follower_woken_too_early_looks_again_soon(own: Client, own_engine: Engine) -> None:
    """NOTIFY arrives while an older transaction (here in the same database; anywhere on the
    server counts) still holds the horizon, so the wake-up can read nothing; that transaction
    ends without a notification. The follower must not wait for its (60 s) poll."""
    with _following(own, own_engine):
        with own_engine.connect() as older:
            older.execute(text("SELECT pg_current_xact_id()"))  # an open transaction, with an id
            own.create(name="held back", type="training", project="horizon")
            time.sleep(1.0)  # the follower woke and found the event unreadable
            assert not any(p == "horizon" for p, _ in _activity(own_engine))
            older.rollback()
        assert _applied_within(own_engine, "horizon", 10), "it waited for its poll"


@pytest.mark.tampers
def test_verify_finds_every_kind_of_difference(own: Client, own_engine: Engine) -> None:
    ids = _workload(own)
    catch_up_fully(own_engine)
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    with own_engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET name = 'tampered' WHERE id = :t"), {"t": ids[1]})
        conn.execute(text("DELETE FROM task_status_history WHERE task_id = :t"), {"t": ids[2]})
        conn.execute(text("UPDATE activity_daily SET completed = completed + 1"))
        conn.execute(
            text(
                "INSERT INTO task_metrics (task_id, metric, variant, company, metric_hash, "
                "variant_hash, count, finite_count, nonfinite_count) "
                "VALUES ('ghost', 'm', 'v', 'acme', 'x', 'y', 1, 1, 0)"
            )
        )
    found = rebuild.verify(own_engine, list(registry.PROJECTORS))
    kinds = {(d.table, d.kind, tuple(d.columns)) for d in found}
    assert ("tasks", "differs", ("name",)) in kinds
    assert ("task_status_history", "missing", ()) in kinds
    assert ("task_metrics", "extra", ()) in kinds
    assert any(d.table == "activity_daily" and d.columns == ["completed"] for d in found)


def test_rebuild_repairs_tampered_read_models(own: Client, own_engine: Engine) -> None:
    ids = _workload(own)
    catch_up_fully(own_engine)
    with own_engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET status = 'unknown' WHERE id = :t"), {"t": ids[3]})
        conn.execute(text("DELETE FROM task_metrics"))
        conn.execute(text("DELETE FROM activity_daily"))
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) != []
    rebuild.rebuild(own_engine, list(registry.PROJECTORS))
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    assert own.get_by_id(ids[3]).status in ("completed", "failed")


def test_rebuild_while_writers_keep_writing(own: Client, own_engine: Engine) -> None:
    """Writers are held off only for the final swap; nothing they write is lost."""
    _workload(own, tasks=4)
    stop = threading.Event()
    written: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                task = str(own.create(name="busy writer", type="training")["id"])
                own.started(task=task)
                own.add_events([{"task": task, "type": SCALAR, "metric": "m", "value": 1.0}])
                written.append(task)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        for _ in range(3):
            rebuild.rebuild(own_engine, [s for s in registry.PROJECTORS if s.mode == "inline"])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, [repr(e.__cause__) for e in errors]
    assert len(written) > 3
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    for task in written[-5:]:
        assert own.get_by_id(task).status == "in_progress"


def test_replay_memory_is_bounded() -> None:
    states = rebuild.BoundedStates(capacity=3)
    for i in range(10):
        states[str(i)] = Any  # type: ignore[assignment]
    assert list(states) == ["7", "8", "9"]


def _snapshot(engine: Engine, table: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]


def test_a_rebuild_in_bulk_writes_what_the_commands_wrote_row_by_row(
    own: Client, own_engine: Engine
) -> None:
    """Enough tasks that a replay batch goes by COPY and staged upserts (projections/bulk.py),
    while the commands wrote the same rows one statement at a time: they must agree."""
    _workload(own, tasks=3 * bulk.BULK_MIN_ROWS)
    catch_up_fully(own_engine)
    before = {t: _snapshot(own_engine, t) for t in ("tasks", "task_status_history")}
    assert len(before["tasks"]) > 2 * bulk.BULK_MIN_ROWS
    rebuild.rebuild(own_engine, list(registry.PROJECTORS))
    assert {t: _snapshot(own_engine, t) for t in before} == before
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []


def test_reports_merged_per_batch_or_deferred_leave_what_applying_them_one_by_one_leaves(
    own: Client, own_engine: Engine
) -> None:
    """A rebuild folds a batch's reports per task before one upsert (projections/metrics.py);
    the rows must equal those of one upsert per report, across ties, non-finite values, a
    reset between reports, and a cap small enough to refuse pairs. Rows are compared as text
    (NaN is not equal to itself)."""
    rng = random.Random(7)
    pairs = [(m, v) for m in ("loss", "acc", "lr") for v in ("train", "val")]
    values = [0.5, 1.0, 1.0, -2.0, 3.25, 1e300, math.nan, math.inf]
    tasks = [str(own.create(name=f"merge {i}", type="training")["id"]) for i in range(3)]
    for task in tasks:
        own.started(task=task)
    for n in range(60):
        task = rng.choice(tasks)
        if n % 17 == 16:
            own.reset(task=task, force=True)
            own.started(task=task)
            continue
        events = []
        for _ in range(rng.randint(1, 6)):
            metric, variant = rng.choice(pairs)
            value = rng.choice(values)
            events.append(
                {
                    "task": task,
                    "type": SCALAR,
                    "metric": metric,
                    "variant": variant,
                    "value": value,
                    "iter": rng.randint(0, 5),
                }
            )
        own.add_events(events)
    settle.horizon_reaches_end(own_engine)  # other sessions' open transactions hold it back
    with own_engine.connect() as sa_conn:
        records = eventlog.read_all(raw(sa_conn), limit=100_000)
        sa_conn.rollback()
    assert sum(isinstance(r.event, ev.MetricsReported) for r in records) > 40

    with own_engine.begin() as sa_conn:
        conn = raw(sa_conn)
        for table in ("one_by_one", "merged", "deferred"):
            conn.execute(f"CREATE TEMP TABLE {table} (LIKE task_metrics INCLUDING ALL)")
        one_by_one = MetricsProjector("one_by_one", cap=4)
        merged = MetricsProjector("merged", cap=4)
        deferred = MetricsProjector("deferred", cap=4)
        deferred.defer()  # as a rebuild does: folds held across batches until finish
        for record in records:
            one_by_one.apply(conn, [record], {})
        merged.apply(conn, records, {})
        for at in range(0, len(records), 7):
            deferred.apply(conn, records[at : at + 7], {})
        deferred.finish(conn)
        order = "ORDER BY task_id, metric, variant"
        rows = {
            t: conn.execute(f"SELECT {t}::text FROM {t} {order}").fetchall()
            for t in ("one_by_one", "merged", "deferred")
        }
    assert len(rows["one_by_one"]) >= 8
    assert rows["merged"] == rows["one_by_one"]
    assert rows["deferred"] == rows["one_by_one"]


def test_project_tree_changes_replay_to_the_same_read_models(
    own: Client, own_engine: Engine
) -> None:
    """Renames, moves, merges, visibility and deletes of projects fold the same inline and in a
    replay (rebuild/verify cover the projects projector and the tasks a delete moved)."""
    a = own.create_project(name="tree/a/b")["id"]
    other = own.create_project(name="tree/other")["id"]
    task = own.create(name="in b", type="training", project=a)["id"]
    own.update_project(project=a, name="tree/a/c", description="renamed")
    own.move_project(project=a, new_location="tree/other")
    own.make_projects_public(ids=[other])
    own.make_projects_private(ids=[other])
    own.merge_project(project=own.get_projects(name="^tree/a$")[0].id, destination_project=other)
    own.delete_project(project=other, force=True)
    assert own.get_by_id(task).project is None
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    with own_engine.begin() as conn:
        conn.execute(text("UPDATE projects SET name = 'tampered'"))
    rebuild.rebuild(own_engine, list(registry.PROJECTORS))
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
