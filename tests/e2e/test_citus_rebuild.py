"""Rebuild and verify per tenant on a log sharded by tenant (tests/citus.py's cluster), with
writers of the rebuilt tenant and of another one running: the tenant write lock holds off only
its tenant, every acknowledged command's event is in the log once, the rebuilt rows equal a
replay, and verify names the tenant whose row was damaged (projections/tenant_rebuild.py,
tenant_verify.py, store/tenant_lock.py)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store import tenant_lock
from tasktrack.store.engine import make_engine
from tests import citus
from tests.e2e.cli import run

SCALAR = "training_stats_scalar"
# A task's commands as the writers send them, and the event each one appends.
STEPS = ("TaskCreated", "TaskStarted", "MetricsReported", "TaskLogged", "TaskCompleted")


@pytest.fixture(scope="module")
def sharded_url(citus_coordinator: str) -> Iterator[str]:
    with citus.distributed_database(citus_coordinator) as url:
        yield url


@pytest.fixture(scope="module")
def sharded(sharded_url: str) -> Iterator[Engine]:
    engine = make_engine(sharded_url, pool_size=2)
    yield engine
    engine.dispose()


class Writer(threading.Thread):
    """Runs tasks of one tenant through STEPS until stopped, on an engine of its own; keeps
    every acknowledged step per task (what must be in the log, exactly once)."""

    def __init__(self, url: str, company: str) -> None:
        super().__init__(daemon=True)
        self.url, self.company = url, company
        self.acknowledged: dict[str, list[str]] = {}
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def steps(self) -> int:
        return sum(len(s) for s in list(self.acknowledged.values()))

    def run(self) -> None:
        engine = make_engine(self.url, pool_size=1)
        client = Client(engine, Caller(company=self.company, user="writer"))
        try:
            while not self.stop.is_set():
                task = str(client.create(name="written", type="training")["id"])
                done = self.acknowledged[task] = ["TaskCreated"]
                client.started(task=task)
                done.append("TaskStarted")
                scalar = {"task": task, "type": SCALAR, "metric": "loss", "variant": "train",
                          "value": 0.5, "iter": 1}  # fmt: skip
                client.add_events([scalar])
                done.append("MetricsReported")
                client.add_events([{"task": task, "type": "log", "msg": "m", "level": "info"}])
                done.append("TaskLogged")
                client.completed(task=task)
                done.append("TaskCompleted")
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.errors.append(exc)
        finally:
            engine.dispose()


def _start(url: str, companies: list[str]) -> list[Writer]:
    writers = [Writer(url, c) for c in companies]
    for w in writers:
        w.start()
    _until(lambda: all(w.steps() >= len(STEPS) for w in writers), "writers started")
    return writers


def _stop(writers: list[Writer]) -> None:
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join(timeout=120)
        assert not w.is_alive()
        assert w.errors == [], w.errors


def _until(done: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.02)


def _in_log_once(engine: Engine, writers: list[Writer]) -> None:
    """Each acknowledged step's event is in its task's stream once, versions 1..n in order,
    and nothing unacknowledged but at most a step whose answer had not come back yet."""
    with engine.connect() as conn:
        for w in writers:
            rows = conn.execute(
                text(
                    "SELECT stream_id, stream_version, type FROM events WHERE company = :c "
                    "ORDER BY stream_id, stream_version"
                ),
                {"c": w.company},
            ).all()
            streams: dict[str, list[tuple[int, str]]] = {}
            for stream, version, kind in rows:
                streams.setdefault(stream, []).append((version, kind))
            assert set(w.acknowledged) <= set(streams)
            for task, steps in w.acknowledged.items():
                logged = streams[task]
                assert [v for v, _ in logged] == list(range(1, len(logged) + 1)), task
                assert [k for _, k in logged] == list(STEPS[: len(logged)]), task
                assert len(steps) <= len(logged) <= len(steps) + 1, task
            positions = conn.execute(
                text("SELECT count(*), count(DISTINCT position) FROM events WHERE company = :c"),
                {"c": w.company},
            ).one()
            assert positions[0] == positions[1]


def _waiting_advisory(conn: psycopg.Connection[Any]) -> set[int]:
    """The advisory-lock keys some session is waiting for on the coordinator now."""
    rows = conn.execute(
        "SELECT classid::bigint, objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted"
    ).fetchall()
    out = set()
    for high, low in rows:
        key = (int(high) << 32) | int(low)
        out.add(key - (1 << 64) if key >= 1 << 63 else key)
    return out


def test_the_tenant_lock_holds_off_that_tenants_commands_only(
    sharded_url: str, sharded: Engine
) -> None:
    """With a tenant's write lock held exclusive, its next command waits on it (seen in
    pg_locks) while another tenant's command goes through; released, the first one completes."""
    held, other = citus.tenant("held"), citus.tenant("free")
    for company in (held, other):  # warm: each tenant has written before
        Client(sharded, Caller(company=company, user="u")).create(name="first", type="training")
    done: list[str] = []
    with (
        psycopg.connect(citus.libpq(sharded_url)) as lock,
        psycopg.connect(citus.libpq(sharded_url), autocommit=True) as watch,
    ):
        tenant_lock.hold_off_writers(lock, held)
        waiting = Client(sharded, Caller(company=held, user="u"))
        blocked = threading.Thread(
            target=lambda: done.append(str(waiting.create(name="waits", type="training")["id"])),
            daemon=True,
        )
        blocked.start()
        _until(lambda: tenant_lock.key(held) in _waiting_advisory(watch), "the command waits")
        assert done == []
        free = Client(sharded, Caller(company=other, user="u"))
        assert free.create(name="goes on", type="training")["id"]
        assert tenant_lock.key(other) not in _waiting_advisory(watch)
        assert done == []  # still held off
        lock.rollback()
        blocked.join(timeout=120)
    assert len(done) == 1


def test_one_tenant_is_rebuilt_while_its_writers_and_anothers_run(
    sharded_url: str, sharded: Engine
) -> None:
    """`projections rebuild --company A` with two writers of A and one of B running: A's
    damaged rows come back, every acknowledged command of both is in the log once, B's
    commands never wait on A's lock (pg_locks, sampled throughout), and afterwards every
    projection equals a replay."""
    env = {"TASKTRACK_DATABASE_URL": sharded_url}
    a, b = citus.tenant("ra"), citus.tenant("rb")
    writers = _start(sharded_url, [a, a, b])
    with sharded.begin() as conn:
        damaged = conn.execute(
            text("SELECT id, name FROM tasks WHERE company = :c ORDER BY id LIMIT 1"), {"c": a}
        ).one()
        conn.execute(
            text("UPDATE tasks SET name = 'broken' WHERE company = :c AND id = :i"),
            {"c": a, "i": damaged.id},
        )
        conn.execute(
            text("DELETE FROM task_status_history WHERE company = :c AND task_id = :i"),
            {"c": a, "i": damaged.id},
        )
    waited: set[int] = set()
    sampling = threading.Event()

    def sample() -> None:
        with psycopg.connect(citus.libpq(sharded_url), autocommit=True) as watch:
            while not sampling.is_set():
                waited.update(_waiting_advisory(watch))
                time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = [w.steps() for w in writers]
    rebuilt = run("projections", "rebuild", "--company", a, env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    # The writers went on across the rebuild: each acknowledged more afterwards.
    _until(lambda: all(w.steps() > n for w, n in zip(writers, before, strict=True)), "more")
    _stop(writers)
    sampling.set()
    sampler.join(timeout=60)
    assert tenant_lock.key(b) not in waited
    _in_log_once(sharded, writers)
    with sharded.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM tasks WHERE company = :c AND id = :i"),
            {"c": a, "i": damaged.id},
        ).scalar_one()
        history = conn.execute(
            text("SELECT count(*) FROM task_status_history WHERE company = :c AND task_id = :i"),
            {"c": a, "i": damaged.id},
        ).scalar_one()
    assert name == damaged.name
    assert history > 0
    verified = run("projections", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_verify_names_the_damaged_tenant_with_writers_running_and_a_whole_rebuild_repairs_it(
    sharded_url: str, sharded: Engine
) -> None:
    """With writers of two tenants running: verify finds one damaged row of B and names B (and
    nothing of A, whose rows change meanwhile), and a row of a tenant with no event at all;
    `--company A` finds nothing; the whole rebuild, tenant by tenant, repairs both while they
    write; then everything equals a replay."""
    env = {"TASKTRACK_DATABASE_URL": sharded_url}
    a, b, ghost = citus.tenant("va"), citus.tenant("vb"), citus.tenant("vg")
    with sharded.begin() as conn:
        conn.execute(
            text("INSERT INTO task_runs (company, task_id, run) VALUES (:c, 'nothing', 1)"),
            {"c": ghost},
        )
    writers = _start(sharded_url, [a, b])
    b_writer = writers[1]
    finished = next(t for t, s in list(b_writer.acknowledged.items()) if len(s) == len(STEPS))
    with sharded.begin() as conn:
        conn.execute(
            text("UPDATE tasks SET comment = 'tampered' WHERE company = :c AND id = :i"),
            {"c": b, "i": finished},
        )
    found = run("projections", "verify", env=env)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"tenant {b}: 1 differences" in found.stderr
    assert f"tenant {ghost}: 1 differences" in found.stderr
    assert a not in found.stderr
    assert a not in found.stdout
    assert finished in found.stdout
    assert "differs in comment" in found.stdout
    mine = run("projections", "verify", "--company", a, env=env)
    assert mine.returncode == 0, mine.stdout + mine.stderr
    whole = run("projections", "rebuild", env=env)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    _stop(writers)
    _in_log_once(sharded, writers)
    verified = run("projections", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with sharded.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM task_runs WHERE company = :c"), {"c": ghost}
        ).scalar_one()
    assert left == 0
    counts = Counter(len(s) for w in writers for s in w.acknowledged.values())
    assert counts[len(STEPS)] > 0
