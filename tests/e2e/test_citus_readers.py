"""Per-tenant readers of a log sharded by tenant (tests/citus.py's three-node cluster): the
catch-up runner from each tenant's checkpoint, export and import, per-tenant anchors, and the
ordering race tests of tests/integration/test_eventlog.py for a tenant's commit-safe reader."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.records import LOG_START, Checkpoint, Recorded
from tasktrack.projections import checkpoints, registry, runner
from tasktrack.service import Caller
from tasktrack.store import chaincheck, eventlog
from tasktrack.store.engine import make_engine, raw
from tests import citus, factories, settle
from tests.e2e.cli import run
from tests.integration import eventlog_support

ACTIVITY = registry.BY_NAME["activity_daily"]


@pytest.fixture(scope="module")
def sharded_url(citus_coordinator: str) -> Iterator[str]:
    with citus.distributed_database(citus_coordinator) as url:
        yield url


@pytest.fixture(scope="module")
def bare_log_url(citus_coordinator: str) -> Iterator[str]:
    """The race tests' own database: they write bare events (no TaskCreated first), which a
    replay of the other tests' projections would refuse."""
    with citus.distributed_database(citus_coordinator) as url:
        yield url


@pytest.fixture(scope="module")
def sharded(sharded_url: str) -> Iterator[Engine]:
    engine = make_engine(sharded_url, pool_size=2)
    yield engine
    engine.dispose()


def _write_tasks(url: str, company: str, n: int, errors: list[BaseException]) -> None:
    """n tasks of `company` created, started, every other one completed: on a connection (an
    engine) of its own to the coordinator."""
    engine = make_engine(url, pool_size=1)
    try:
        client = Client(engine, Caller(company=company, user="writer"))
        for i in range(n):
            task = client.create(name=f"task {i}", type="training")["id"]
            client.started(task=task)
            if i % 2 == 0:
                client.completed(task=task)
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        engine.dispose()


def _counts(engine: Engine, company: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT coalesce(sum(tasks_created), 0), coalesce(sum(completed), 0) "
                "FROM activity_daily WHERE company = :c"
            ),
            {"c": company},
        ).one()
    return int(row[0]), int(row[1])


def _covers_everything(engine: Engine, company: str) -> Checkpoint:
    """The tenant's checkpoint, checked to leave nothing of the tenant's log unread."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        cp = checkpoints.read_checkpoint(conn, ACTIVITY.name, company=company)
        assert cp != LOG_START, company
        assert eventlog.read_all(conn, cp, company=company) == []
        sa_conn.rollback()
    return cp


def test_the_runner_reads_every_tenant_from_its_own_checkpoint_never_skipping_or_repeating(
    sharded_url: str, sharded: Engine
) -> None:
    """Two tenants, each written by two writers on their own coordinator connections while the
    runner catches up again and again in small batches: afterwards each tenant's checkpoint
    covers its whole log, the counts are the ones written (an event skipped or applied twice
    would change them), and `projections verify` finds the read model equal to a replay up to
    each tenant's checkpoint."""
    tenants = [citus.tenant("ra"), citus.tenant("rb")]
    per_writer = 8
    errors: list[BaseException] = []
    writers = [
        threading.Thread(target=_write_tasks, args=(sharded_url, company, per_writer, errors))
        for company in tenants
        for _ in range(2)
    ]
    for w in writers:
        w.start()
    applied = 0
    while any(w.is_alive() for w in writers):
        applied += runner.catch_up(sharded, ACTIVITY, batch_size=5)
        time.sleep(0.05)
    assert applied > 0, "the runner read while the writers wrote"
    for w in writers:
        w.join()
    assert errors == []
    settle.horizon_reaches_end(sharded)
    runner.catch_up(sharded, ACTIVITY, batch_size=5)
    for company in tenants:
        cp = _covers_everything(sharded, company)
        # The rollup's answer says how fresh it is, from the tenant's own checkpoint.
        fresh = Client(sharded, Caller(company=company, user="reader")).project_activity()
        assert (fresh.as_of_position, fresh.pending_events) == (cp.position, 0)
        created = 2 * per_writer
        assert _counts(sharded, company) == (created, len(range(0, per_writer, 2)) * 2)
    assert runner.catch_up(sharded, ACTIVITY) == 0  # nothing applied twice
    env = {"TASKTRACK_DATABASE_URL": sharded_url}
    verified = run("projections", "verify", ACTIVITY.name, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status = run("projections", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "0 events behind" in status.stdout
    assert "tenants" in status.stdout


def test_the_follower_finds_a_tenant_that_appears_after_it_started(
    sharded_url: str, sharded: Engine
) -> None:
    first, later = citus.tenant("fa"), citus.tenant("fb")
    errors: list[BaseException] = []
    _write_tasks(sharded_url, first, 2, errors)
    stop = threading.Event()
    follower = threading.Thread(
        target=runner.follow,
        args=(sharded, [ACTIVITY]),
        kwargs={"poll_seconds": 0.1, "should_stop": stop.is_set},
    )
    follower.start()
    try:
        _wait_for(lambda: _counts(sharded, first) == (2, 1))
        _write_tasks(sharded_url, later, 3, errors)
        _wait_for(lambda: _counts(sharded, later) == (3, 2))
    finally:
        stop.set()
        follower.join(timeout=30)
    assert errors == []
    assert not follower.is_alive()
    _covers_everything(sharded, later)


def _wait_for(done: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the follower never caught up"
        time.sleep(0.1)


def _tasks(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(citus.libpq(url)) as conn:
        rows = conn.execute(
            "SELECT company, id, name, status, stream_version FROM tasks ORDER BY company, id"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_an_export_of_the_cluster_imports_into_a_plain_postgresql_with_the_same_tasks(
    sharded_url: str,
    sharded: Engine,
    new_migrated_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    errors: list[BaseException] = []
    for company in (citus.tenant("xa"), citus.tenant("xb")):
        _write_tasks(sharded_url, company, 3, errors)
    assert errors == []
    settle.horizon_reaches_end(sharded)
    file = tmp_path / "cluster.jsonl"
    exported = run("export", "-o", str(file), env={"TASKTRACK_DATABASE_URL": sharded_url})
    assert exported.returncode == 0, exported.stderr
    with sharded.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert f"exported {total} events" in exported.stderr
    digest = exported.stderr.split("digest: ")[1].strip()

    plain = new_migrated_database()
    imported = run("import", str(file), "--digest", digest, env={"TASKTRACK_DATABASE_URL": plain})
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"imported {total} events" in imported.stdout
    assert _tasks(plain) == _tasks(sharded_url)
    assert len(_tasks(plain)) >= 6

    # One tenant's export: its events only, every one of them.
    company = _tasks(sharded_url)[0][0]
    one = run("export", "--company", company, env={"TASKTRACK_DATABASE_URL": sharded_url})
    assert one.returncode == 0, one.stderr
    with sharded.connect() as conn:
        mine = conn.execute(
            text("SELECT count(*) FROM events WHERE company = :c"), {"c": company}
        ).scalar_one()
    assert f"exported {mine} events" in one.stderr
    assert len(one.stdout.splitlines()) >= mine


def test_a_tenants_anchor_on_the_cluster_checks_its_log(sharded_url: str) -> None:
    env = {"TASKTRACK_DATABASE_URL": sharded_url}
    company = citus.tenant("an")
    errors: list[BaseException] = []
    _write_tasks(sharded_url, company, 2, errors)
    assert errors == []
    taken = run("audit", "anchor", "--company", company, env=env)
    assert taken.returncode == 0, taken.stderr
    anchor = taken.stdout.strip()
    streams = int(anchor.split(":")[2])
    assert streams == 2
    checked = run("audit", "verify", "--company", company, "--anchor", anchor, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "the anchor matches" in checked.stdout
    # Another tenant's log does not match it; a whole-log anchor is refused on a sharded log.
    other = run("audit", "verify", "--company", citus.tenant("no"), "--anchor", anchor, env=env)
    assert other.returncode == 1
    assert "no longer matches" in other.stdout
    whole = run("audit", "verify", "--anchor", anchor, env=env)
    assert whole.returncode == 1
    assert "--company" in whole.stderr


# --- the ordering race tests of tests/integration/test_eventlog.py, for a tenant's reader ---


def _append(conn: psycopg.Connection[Any], company: str, stream: str) -> int:
    appended = eventlog_support.append(
        conn,
        stream_id=stream,
        events=[factories.pinged()],
        metadata=factories.meta(company=company),
        recorded_at=factories.now(),
        head=eventlog_support.read_head(conn, stream),
    )
    return appended[0].position


def _tenant_log(conn: psycopg.Connection[Any], company: str) -> list[Recorded]:
    out: list[Recorded] = []
    after = LOG_START
    while batch := eventlog.read_all(conn, after, limit=3, company=company):
        out += batch
        after = batch[-1].checkpoint
    return out


def test_stream_order_holds_for_a_tenants_writer_of_several_streams(bare_log_url: str) -> None:
    """A command writing two streams of one tenant locks both first; if it waits for one, its
    events still come after the ones appended meanwhile, in the tenant's reader's order."""
    company = citus.tenant("so")
    stream, other = factories.new_id(), factories.new_id()
    url = citus.libpq(bare_log_url)
    with psycopg.connect(url) as first:
        eventlog.lock_streams(first, [stream])
        _append(first, company, stream)
        first.commit()
    with psycopg.connect(url) as holder, psycopg.connect(url) as writer:
        eventlog.lock_streams(holder, [stream])
        _append(holder, company, stream)  # version 2, lock held until commit
        done = threading.Event()

        def write_both() -> None:
            eventlog.lock_streams(writer, [other, stream])  # waits for `holder`
            for s in (other, stream):
                _append(writer, company, s)
            writer.commit()
            done.set()

        thread = threading.Thread(target=write_both)
        thread.start()
        assert not done.wait(0.5)  # blocked on the stream lock
        holder.commit()
        thread.join()
        assert done.is_set()
    with psycopg.connect(url, autocommit=True) as reader:
        deadline = time.monotonic() + 30
        while len(seen := _tenant_log(reader, company)) < 4:
            assert time.monotonic() < deadline, "the tenant's horizon never passed its events"
            time.sleep(0.1)
        assert [r.stream_version for r in seen if r.stream_id == stream] == [1, 2, 3]
        assert [r.position for r in seen] == sorted(r.position for r in seen)
        assert chaincheck.check_stream(reader, stream) is None


def test_concurrent_writers_of_one_tenant_are_each_read_once_in_commit_safe_order(
    bare_log_url: str,
) -> None:
    """Four writers of one tenant on their own coordinator connections, commits interleaved
    with a reader polling batch by batch from its checkpoint (as the runner does): every event
    is read exactly once, each stream in version order."""
    company = citus.tenant("cw")
    url = citus.libpq(bare_log_url)
    written: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write(stream: str) -> None:
        with psycopg.connect(url) as conn:
            for _ in range(6):
                eventlog.lock_streams(conn, [stream])
                position = _append(conn, company, stream)
                time.sleep(0.01)  # hold the transaction open a little: commits interleave
                conn.commit()
                with lock:
                    written.append(position)

    streams = [factories.new_id() for _ in range(4)]
    threads = [threading.Thread(target=write, args=(s,)) for s in streams]
    read: list[Recorded] = []
    with psycopg.connect(url, autocommit=True) as reader:
        for t in threads:
            t.start()
        after = LOG_START
        deadline = time.monotonic() + 60
        while not stop.is_set():
            batch = eventlog.read_all(reader, after, limit=2, company=company)
            read += batch
            after = batch[-1].checkpoint if batch else after
            if not any(t.is_alive() for t in threads) and len(read) >= len(written):
                stop.set()
            assert time.monotonic() < deadline, (len(read), len(written))
            time.sleep(0.005)
        for t in threads:
            t.join()
    positions = [r.position for r in read]
    assert sorted(positions) == sorted(written)
    assert len(positions) == 24
    for s in streams:
        assert [r.stream_version for r in read if r.stream_id == s] == list(range(1, 7))


def test_one_tenants_catch_up_projection_is_rebuilt_while_others_stay_untouched(
    sharded_url: str, sharded: Engine
) -> None:
    """`projections rebuild --company`: the tenant's damaged rollup comes back equal to a
    replay, from its own events, with its checkpoint at its log's end; another tenant's rows
    and checkpoint are left as they were."""
    env = {"TASKTRACK_DATABASE_URL": sharded_url}
    damaged, other = citus.tenant("rd"), citus.tenant("ro")
    errors: list[BaseException] = []
    for company in (damaged, other):
        _write_tasks(sharded_url, company, 3, errors)
    assert errors == []
    settle.horizon_reaches_end(sharded)
    runner.catch_up(sharded, ACTIVITY)
    with sharded.begin() as conn:
        conn.execute(
            text("UPDATE activity_daily SET tasks_created = 99 WHERE company = :c"),
            {"c": damaged},
        )
    assert _counts(sharded, damaged) == (99, 2)
    others_before = _rows(sharded, other)
    rebuilt = run("projections", "rebuild", "--company", damaged, env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert _counts(sharded, damaged) == (3, 2)
    _covers_everything(sharded, damaged)
    assert _rows(sharded, other) == others_before
    verified = run("projections", "verify", ACTIVITY.name, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Inline projections too, since the tenant write lock (tests/e2e/test_citus_rebuild.py).
    inline = run("projections", "rebuild", "tasks", "--company", damaged, env=env)
    assert inline.returncode == 0, inline.stdout + inline.stderr
    assert _rows(sharded, other) == others_before


def _rows(engine: Engine, company: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.*, c.tx::text, c.position FROM activity_daily a, projector_checkpoints c "
                "WHERE a.company = :c AND c.company = :c AND c.name = :n ORDER BY a.project, a.day"
            ),
            {"c": company, "n": ACTIVITY.name},
        ).all()
    return [tuple(r) for r in rows]


def test_the_tenants_are_found_shard_by_shard(sharded: Engine, sharded_url: str) -> None:
    """eventlog.tenants on the cluster probes each shard's index (run_command_on_shards) and
    finds exactly the companies a plain DISTINCT over the distributed log finds."""
    mine = sorted(citus.tenant(p) for p in ("a", "b", "c", "d", "e"))
    errors: list[BaseException] = []
    for company in mine:
        _write_tasks(sharded_url, company, 1, errors)
    assert errors == []
    with sharded.connect() as sa_conn:
        conn = raw(sa_conn)
        found = eventlog.tenants(conn)
        rows = conn.execute("SELECT DISTINCT company FROM events").fetchall()
        shards = conn.execute(
            "SELECT count(DISTINCT nodeport) FROM citus_shards "
            "WHERE table_name = 'events'::regclass"
        ).fetchone()
        sa_conn.rollback()
    assert set(mine) <= set(found)
    assert found == sorted(str(r[0]) for r in rows)
    assert shards is not None
    assert shards[0] == 2  # the log is on both workers, and both were read
