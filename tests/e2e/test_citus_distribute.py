"""`tasktrack db distribute` of a database that already holds a log, on the three-node cluster
of tests/citus.py: several tenants written through `tasktrack serve` on the coordinator while
the tables are still the coordinator's own, a catch-up runner part-way, then distribute; every
row is kept, each tenant's commit-safe reader sees every old event once and new ones after
them, and an export of the result imports into another distributed database. Skipped off CI
without Citus, failing in CI."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from tasktrack.api import Client
from tasktrack.domain.records import LOG_START
from tasktrack.projections import checkpoints, registry, runner
from tasktrack.service import Caller
from tasktrack.store import credentials, distribute, distribute_log, eventlog, layout
from tasktrack.store.engine import make_engine, raw
from tests import citus, settle
from tests.e2e.cli import run
from tests.e2e.http import Api, basic, serving

ACTIVITY = registry.BY_NAME["activity_daily"]
SCALAR = "training_stats_scalar"
# The catch-up projections' tables: the distribute's own catch-up adds to them (the others
# must hold exactly the rows they held before).
CAUGHT_UP = {t for s in registry.PROJECTORS if s.mode == "catch_up" for t in s.tables}


class Before(msgspec.Struct, kw_only=True):
    """The database as the tenants left it, before `db distribute`."""

    url: str
    tenants: dict[str, tuple[str, str]]  # company -> (access key, secret key)
    created: dict[str, int]  # tasks each tenant created
    counts: dict[str, int]  # rows per table (catch-up tables and checkpoints left out)
    events: dict[str, int]  # events per tenant
    tasks: dict[str, list[Any]]  # what tasks.get_all answered each tenant
    refused: Any = None  # the run refused while another session was connected


def _lines(task: str, n: int) -> str:
    rows = [
        {
            "task": task,
            "type": SCALAR,
            "metric": "loss",
            "variant": "train",
            "value": 1.0 / (i + 1),
            "iter": i,
        }
        for i in range(n)
    ]
    rows.append({"task": task, "type": "log", "msg": "epoch done", "level": "info"})
    return "\n".join(json.dumps(r) for r in rows)


def _work(api: Api, tasks: int, start: int) -> None:
    """A tenant's day: tasks created, queued, handed out, started, reporting scalars and a log
    line, most completed, one failed, one left waiting in its queue."""
    for i in range(start, start + tasks):
        task = api.ok("tasks.create", {"name": f"run {i:03d}", "type": "training"})["id"]
        waits = i % 5 == 4  # left waiting, in a queue of its own
        api.ok("tasks.enqueue", {"task": task, "queue_name": "cpu" if waits else "gpu"})
        if waits:
            continue
        (queue,) = api.ok("queues.get_all", {"name": "^gpu$"})["queues"]
        assert api.ok("queues.get_next_task", {"queue": queue["id"]})["entry"]["task"] == task
        api.ok("tasks.started", {"task": task})
        added = api.raw(
            "events.add_batch", _lines(task, 3), headers={"Content-Type": "application/json-lines"}
        )
        assert added.status_code == 200, added.text
        api.ok("tasks.failed" if i % 5 == 3 else "tasks.completed", {"task": task})


def _tasks(api: Api) -> list[Any]:
    answer = api.ok(
        "tasks.get_all",
        {
            "only_fields": ["id", "name", "status", "last_iteration", "last_metrics"],
            "order_by": ["name"],
        },
    )
    return sorted(answer["tasks"], key=lambda t: t["name"])


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(citus.libpq(url)) as conn:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in (*layout.DISTRIBUTED, *layout.REFERENCE)
            if t not in CAUGHT_UP and t != "projector_checkpoints"
        }


def _events(url: str) -> dict[str, int]:
    with psycopg.connect(citus.libpq(url)) as conn:
        rows = conn.execute("SELECT company, count(*) FROM events GROUP BY company").fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def _sums(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT company, sum(tasks_created) FROM activity_daily GROUP BY company")
        ).all()
    return {str(r[0]): int(r[1]) for r in rows}


@pytest.fixture(scope="module")
def before(citus_coordinator: str) -> Iterator[Before]:
    """Three tenants' work through the HTTP API on a migrated, not yet distributed database;
    the catch-up runner run once part-way, so that distribute has events to catch up."""
    url = citus.create_database(citus_coordinator)
    try:
        env = {"TASKTRACK_DATABASE_URL": url}
        assert run("db", "upgrade", env=env).returncode == 0
        engine = make_engine(url, pool_size=1)
        tenants = {}
        with engine.begin() as conn:
            for company in (f"d{i}-{uuid.uuid4().hex[:8]}" for i in range(3)):
                cred = credentials.create(conn, company, "alice")
                tenants[company] = (cred.access_key, cred.secret_key)
        engine.dispose()
        created = {c: 0 for c in tenants}
        with serving(env) as base:
            for rounds in ((6, 0), (4, 6)):
                for company, (key, secret) in tenants.items():
                    api = Api(base, basic(key, secret))
                    _work(api, *rounds)
                    api.close()
                    created[company] += rounds[0]
                if rounds[1] == 0:
                    ran = run("projections", "run", env=env)  # a '' checkpoint, part-way
                    assert ran.returncode == 0, ran.stderr
            answers = {}
            for company, (key, secret) in tenants.items():
                api = Api(base, basic(key, secret))
                answers[company] = _tasks(api)
                api.close()
        yield Before(
            url=url,
            tenants=tenants,
            created=created,
            counts=_counts(url),
            events=_events(url),
            tasks=answers,
        )
    finally:
        citus.drop_database(citus_coordinator, url)


def test_distribute_is_refused_while_another_client_is_connected(before: Before) -> None:
    with psycopg.connect(citus.libpq(before.url), application_name="someone") as other:
        other.execute("SELECT 1")
        refused = run("db", "distribute", env={"TASKTRACK_DATABASE_URL": before.url})
    assert refused.returncode == 1
    assert "other sessions are connected" in refused.stderr
    assert "someone" in refused.stderr
    with psycopg.connect(citus.libpq(before.url)) as conn:
        placed = conn.execute("SELECT count(*) FROM pg_dist_partition").fetchone()
        whole = conn.execute(
            "SELECT count(*) FROM projector_checkpoints WHERE company = ''"
        ).fetchone()
    assert placed == (0,), "nothing was distributed"
    assert whole == (1,), "the whole log's checkpoint is untouched"


@pytest.fixture(scope="module")
def after(before: Before) -> Iterator[Engine]:
    """The same database once `tasktrack db distribute` ran (as the operator would)."""
    done = run("db", "distribute", env={"TASKTRACK_DATABASE_URL": before.url}, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "caught up first" in done.stdout, done.stdout
    assert f"{ACTIVITY.name}: the whole log's checkpoint made one per tenant" in done.stdout
    engine = make_engine(before.url, pool_size=2)
    yield engine
    engine.dispose()


def test_every_row_is_kept_and_every_table_is_in_its_place(before: Before, after: Engine) -> None:
    assert _counts(before.url) == before.counts
    assert _events(before.url) == before.events
    with after.connect() as conn:
        assert distribute.unplaced(conn) == []
        assert distribute.log_is_distributed(conn)
    again = run("db", "distribute", env={"TASKTRACK_DATABASE_URL": before.url})
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(already)") == len(layout.classified())
    assert "one per tenant" not in again.stdout
    assert _counts(before.url) == before.counts


def test_each_tenants_reader_sees_every_old_event_and_the_workers_counters_are_past_them(
    before: Before, after: Engine
) -> None:
    with after.connect() as sa_conn:
        conn = raw(sa_conn)
        top = conn.execute("SELECT max(tx)::text FROM events").fetchone()
        assert top is not None
        for port_counter in distribute_log.worker_counters(sa_conn).values():
            assert port_counter > int(top[0])
        for company, n in before.events.items():
            # From the start: every old event readable (no stall above a worker's horizon).
            seen = eventlog.read_all(conn, LOG_START, limit=100_000, company=company)
            assert len(seen) == n
            versions: dict[str, int] = {}
            for r in seen:
                assert r.stream_version == versions.get(r.stream_id, 0) + 1, r.stream_id
                versions[r.stream_id] = r.stream_version
        sa_conn.rollback()


def test_the_whole_logs_checkpoint_became_one_per_tenant_covering_its_log(
    before: Before, after: Engine
) -> None:
    with after.connect() as sa_conn:
        conn = raw(sa_conn)
        assert checkpoints.read_checkpoint(conn, ACTIVITY.name) == LOG_START  # no '' row
        per_tenant = checkpoints.tenant_checkpoints(conn, ACTIVITY.name)
        assert set(per_tenant) == set(before.tenants)
        for company, cp in per_tenant.items():
            assert eventlog.read_all(conn, cp, company=company) == []
        sa_conn.rollback()
    # The rollup counted each task once: the part the runner did before, the rest in distribute.
    assert _sums(after) == before.created


def test_the_api_and_the_operators_checks_agree_after_distributing(
    before: Before, after: Engine
) -> None:
    env = {"TASKTRACK_DATABASE_URL": before.url}
    with serving(env) as base:
        for company, (key, secret) in before.tenants.items():
            api = Api(base, basic(key, secret))
            assert _tasks(api) == before.tasks[company]
            api.close()
    verified = run("projections", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = run("audit", "verify", env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    covered = sum(int(n) for n in re.findall(r"(\d+) events under chain rule", audit.stdout))
    assert covered == sum(before.events.values())


def test_new_events_come_after_the_old_ones_once_each_in_one_phase(
    before: Before, after: Engine
) -> None:
    sent: list[str] = []
    engine = make_engine(before.url, pool_size=1)

    @event.listens_for(engine, "connect")
    def log_remote(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.add_notice_handler(lambda d: sent.append(d.message_primary or ""))
        dbapi_conn.execute("SET citus.log_remote_commands = on")
        dbapi_conn.commit()

    try:
        for company in before.tenants:
            client = Client(engine, Caller(company=company, user="bob"))
            task = client.create(name="after distribute", type="training")["id"]
            client.started(task=task)
            client.add_events(
                [
                    {
                        "task": task,
                        "type": SCALAR,
                        "metric": "loss",
                        "variant": "v",
                        "value": 1.0,
                        "iter": 0,
                    }
                ]
            )
            client.completed(task=task)
    finally:
        engine.dispose()
    prepared = [s for s in sent if "PREPARE TRANSACTION" in s]
    assert prepared == [], prepared
    assert any(s.startswith("issuing ") for s in sent), "the commands ran on the workers"
    settle.horizon_reaches_end(after)
    new = sum(_events(before.url).values()) - sum(before.events.values())
    assert new >= 4 * len(before.tenants)
    applied = runner.catch_up(after, ACTIVITY, batch_size=3)
    assert applied == new, "each new event once, no old one again"
    assert runner.catch_up(after, ACTIVITY) == 0
    assert _sums(after) == {c: n + 1 for c, n in before.created.items()}


def test_a_follower_applies_each_tenants_next_events_once(before: Before, after: Engine) -> None:
    want = {c: n + 2 for c, n in before.created.items()}  # one more task each, beside the last
    stop = threading.Event()
    follower = threading.Thread(
        target=runner.follow,
        args=(after, [ACTIVITY]),
        kwargs={"poll_seconds": 0.1, "should_stop": stop.is_set},
    )
    follower.start()
    try:
        for company in before.tenants:
            Client(after, Caller(company=company, user="dan")).create(
                name="for the follower", type="training"
            )
        deadline = time.monotonic() + 60
        while _sums(after) != want:
            assert time.monotonic() < deadline, _sums(after)
            time.sleep(0.1)
    finally:
        stop.set()
        follower.join(timeout=30)
    assert not follower.is_alive()
    assert runner.catch_up(after, ACTIVITY) == 0
    assert _sums(after) == want


def test_an_export_imports_into_another_distributed_database(
    citus_coordinator: str, before: Before, after: Engine, tmp_path: Path
) -> None:
    file = tmp_path / "log.jsonl"
    exported = run("export", "-o", str(file), env={"TASKTRACK_DATABASE_URL": before.url})
    assert exported.returncode == 0, exported.stderr
    digest = exported.stderr.split("digest: ")[1].strip()
    with citus.distributed_database(citus_coordinator) as url:
        env = {"TASKTRACK_DATABASE_URL": url}
        imported = run("import", str(file), "--digest", digest, env=env, timeout=600)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        total = sum(_events(before.url).values())
        assert f"imported {total} events" in imported.stdout
        assert _events(url) == _events(before.url)
        with (
            psycopg.connect(citus.libpq(url)) as conn,
            psycopg.connect(citus.libpq(before.url)) as old,
        ):
            shape = "SELECT company, id, name, status, last_iteration FROM tasks ORDER BY 1, 2"
            assert conn.execute(shape).fetchall() == old.execute(shape).fetchall()
            lines = "SELECT count(*) FROM task_log_lines"
            assert conn.execute(lines).fetchone() == old.execute(lines).fetchone()
        for check in (("projections", "verify"), ("audit", "verify")):
            done = run(*check, env=env)
            assert done.returncode == 0, done.stdout + done.stderr
        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as sa_conn:
                per_tenant = checkpoints.tenant_checkpoints(raw(sa_conn), ACTIVITY.name)
                for company, cp in per_tenant.items():
                    assert eventlog.read_all(raw(sa_conn), cp, company=company) == []
                sa_conn.rollback()
            assert set(per_tenant) == set(before.tenants)
            assert _sums(engine) == _sums(after)
            # A new event of the imported log's tenant comes after its imported ones, once.
            company = next(iter(before.tenants))
            Client(engine, Caller(company=company, user="carol")).create(
                name="after import", type="training"
            )
            settle.horizon_reaches_end(engine)
            assert runner.catch_up(engine, ACTIVITY) == 1
        finally:
            engine.dispose()


def test_a_copied_event_ahead_of_its_workers_counter_is_brought_below_it(
    citus_coordinator: str,
) -> None:
    """What `advance_workers` guards against: an event that reached its shard with a `tx` ahead
    of the worker's counter (copied without the stamping trigger, as a shard move copies, or
    by another Citus version) sits above the worker's horizon, and its tenant's reader stalls
    on it. Planted here on the worker with triggers off (a copy of a real event under another
    stream id, in a database of this test's own); distribute's step brings the counter past."""
    company = f"ahead-{uuid.uuid4().hex[:8]}"
    with citus.distributed_database(citus_coordinator) as url:
        engine = make_engine(url, pool_size=1)
        try:
            Client(engine, Caller(company=company, user="eve")).create(
                name="the one", type="training"
            )
            settle.horizon_reaches_end(engine)
            with psycopg.connect(citus.libpq(url)) as coord:
                row = coord.execute(
                    "SELECT shard_name('events'::regclass, s.shardid), p.nodeport "
                    "FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid) "
                    "WHERE s.shardid = get_shard_id_for_distribution_column('events', %s::text)",
                    (company,),
                ).fetchone()
            assert row is not None
            shard, port = str(row[0]), int(row[1])
            worker_url = make_url(url).set(drivername="postgresql", port=port)
            with psycopg.connect(worker_url.render_as_string(hide_password=False)) as worker:
                counter = worker.execute("SELECT pg_current_xact_id()::text").fetchone()
                assert counter is not None
                ahead = int(counter[0]) + 5000
                columns = [
                    str(r[0])
                    for r in worker.execute(
                        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        (shard,),
                    )
                ]
                made = {
                    "position": "position + 1000000",
                    "tx": f"'{ahead}'::xid8",
                    "stream_id": "stream_id || '-copied'",
                }
                worker.execute("SET session_replication_role = replica")  # no trigger fires
                worker.execute(
                    f"INSERT INTO {shard} ({', '.join(columns)}) "
                    f"SELECT {', '.join(made.get(c, c) for c in columns)} FROM {shard} "
                    "WHERE company = %s",
                    (company,),
                )
                worker.commit()
            with engine.connect() as sa_conn:
                conn = raw(sa_conn)
                stalled = eventlog.read_all(conn, LOG_START, company=company)
                sa_conn.rollback()
            assert len(stalled) == 1, "the planted event is above the worker's horizon"
            with engine.begin() as sa_conn:
                assert distribute_log.advance_workers(sa_conn) == ahead
            with engine.connect() as sa_conn:
                conn = raw(sa_conn)
                counters = distribute_log.worker_counters(sa_conn)
                assert all(c > ahead for c in counters.values()), counters
                seen = eventlog.read_all(conn, LOG_START, company=company)
                assert [r.stream_id.endswith("-copied") for r in seen] == [False, True]
                sa_conn.rollback()
        finally:
            engine.dispose()
