"""tasktrack on a three-node Citus cluster (tests/citus.py): `db upgrade` then `db distribute`,
a task's life through the HTTP API, then `projections verify` and `audit verify` as an operator
runs them. Skipped off CI without Citus, failing in CI."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tasktrack.api import Client
from tasktrack.domain.records import LOG_START
from tasktrack.service import Caller
from tasktrack.store import credentials, eventlog, layout
from tasktrack.store.engine import make_engine
from tests import citus, factories
from tests.e2e.cli import run
from tests.e2e.http import Api, basic, serving
from tests.integration import eventlog_support

SCALAR = "training_stats_scalar"


@pytest.fixture(scope="module")
def citus_url(citus_coordinator: str) -> Iterator[str]:
    """A database on the cluster, migrated and distributed by the commands an operator runs."""
    url = citus.create_database(citus_coordinator)
    try:
        env = {"TASKTRACK_DATABASE_URL": url}
        upgraded = run("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        distributed = run("db", "distribute", env=env)
        assert distributed.returncode == 0, distributed.stderr
        assert "distributed by company" in distributed.stdout
        yield url
    finally:
        citus.drop_database(citus_coordinator, url)


@pytest.fixture(scope="module")
def citus_engine(citus_url: str) -> Iterator[Engine]:
    engine = make_engine(citus_url, pool_size=2)
    yield engine
    engine.dispose()


def test_every_growing_table_is_sharded_by_company_beside_the_log(
    citus_url: str, citus_engine: Engine
) -> None:
    with citus_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT logicalrelid::regclass::text, partmethod, repmodel, colocationid, "
                "column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition"
            )
        ).all()
        trigger = conn.execute(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'events_notify'")
        ).scalar_one()
    places = {r[0]: r for r in rows}
    events_group = places["events"][3]
    for table in layout.DISTRIBUTED:
        assert places[table][1:] == ("h", "s", events_group, "company"), table
    for table in layout.REFERENCE:
        assert (places[table][1], places[table][2]) == ("n", "t"), table
    assert trigger == 0, "no NOTIFY inside a transaction Citus may commit in two phases"

    again = run("db", "distribute", env={"TASKTRACK_DATABASE_URL": citus_url})
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(already)") == len(layout.classified())


def _api(engine: Engine, base: str, company: str) -> Api:
    with engine.begin() as conn:
        cred = credentials.create(conn, company, "alice")
    return Api(base, basic(cred.access_key, cred.secret_key))


def test_a_task_life_over_http_then_the_operators_checks(
    citus_url: str, citus_engine: Engine
) -> None:
    company = f"co-{uuid.uuid4().hex[:10]}"
    with serving({"TASKTRACK_DATABASE_URL": citus_url}) as base:
        api = _api(citus_engine, base, company)
        try:
            task = api.ok("tasks.create", {"name": "on citus", "type": "training"})["id"]
            assert api.ok("tasks.enqueue", {"task": task, "queue_name": "gpu"})["queued"] == 1
            # The handout: the queue's shared lock, the task's try-lock, TaskHandedOut on the
            # task's stream and the entry's deletion, every statement on the tenant's shard.
            (queue,) = api.ok("queues.get_all", {"name": "^gpu$"})["queues"]
            handed = api.ok("queues.get_next_task", {"queue": queue["id"]})
            assert handed["entry"]["task"] == task
            assert api.ok("queues.get_num_entries", {"queue": queue["id"]})["num"] == 0
            api.ok("tasks.started", {"task": task})
            lines = [
                json.dumps(
                    {
                        "task": task,
                        "type": SCALAR,
                        "metric": "loss",
                        "variant": "train",
                        "value": v,
                        "iter": i,
                    }
                )
                for i, v in enumerate([3.0, 2.0, 1.0])
            ]
            lines.append(
                json.dumps({"task": task, "type": "log", "msg": "epoch 1", "level": "info"})
            )
            added = api.raw(
                "events.add_batch",
                "\n".join(lines),
                headers={"Content-Type": "application/json-lines"},
            )
            assert added.status_code == 200, added.text
            assert added.json()["data"]["added"] == 4
            api.ok("tasks.completed", {"task": task})
            listed = api.ok("tasks.get_all", {"id": [task], "only_fields": ["status", "name"]})
            assert [(t["id"], t["status"]) for t in listed["tasks"]] == [(task, "completed")]
            got = api.ok("tasks.get_by_id", {"task": task})["task"]
            (variants,) = got["last_metrics"].values()
            (loss,) = variants.values()
            assert (loss["value"], loss["min_value"], loss["max_value"]) == (1.0, 1.0, 3.0)
            log = api.ok("events.get_task_log", {"task": task})
            assert [e["msg"] for e in log["events"]] == ["epoch 1"]
        finally:
            api.close()

    env = {"TASKTRACK_DATABASE_URL": citus_url}
    verified = run("projections", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # What needs one commit-safe order of the whole log refuses a sharded log, which has one
    # such order per tenant only (docs/architecture.md, "Citus"): an anchor is per tenant there.
    for args in (("audit", "anchor"), ("projections", "rebuild")):
        refused = run(*args, env=env)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "does not have yet" in refused.stderr
    audit = run("audit", "verify", env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    covered = sum(int(n) for n in re.findall(r"(\d+) events under chain rule", audit.stdout))
    with citus_engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        mine = conn.execute(
            text("SELECT count(*) FROM events WHERE company = :c"), {"c": company}
        ).scalar_one()
    assert mine >= 5
    assert covered == total


def test_the_log_stays_append_only_on_every_shard(citus_engine: Engine) -> None:
    Client(citus_engine, Caller(company="append-only", user="bob")).create(
        name="kept", type="training"
    )
    for statement in ("UPDATE events SET type = type", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"), citus_engine.begin() as conn:
            conn.execute(text(statement))


def test_a_tasks_status_commands_commit_in_one_phase_on_one_worker(citus_url: str) -> None:
    """create, started, completed and get_all of one tenant: no two-phase commit (Citus would
    PREPARE on each node a transaction wrote to), seen in the statements the coordinator sends
    (citus.log_remote_commands). Every command family: tests/e2e/test_citus_phases.py."""
    remote = citus.RemoteCommands()
    engine = remote.engine(citus_url)
    try:
        client = Client(engine, Caller(company=f"co-{uuid.uuid4().hex[:10]}", user="alice"))
        task = client.create(name="one phase", type="training")["id"]
        client.started(task=task)
        client.completed(task=task)
        assert [t.status for t in client.get_all(id=[task])] == ["completed"]
    finally:
        engine.dispose()
    sent = remote.sent
    assert any(s.startswith("issuing INSERT INTO public.events_") for s in sent), sent[:5]
    assert [s for s in sent if "PREPARE TRANSACTION" in s] == []


def _ping(conn: psycopg.Connection[Any], company: str) -> int:
    """Append one event of a new stream of `company` in the connection's open transaction."""
    appended = eventlog_support.append(
        conn,
        stream_id=factories.new_id(),
        events=[factories.pinged()],
        metadata=factories.meta(company=company),
        recorded_at=factories.now(),
    )
    return appended[0].position


def _tenant_log(conn: psycopg.Connection[Any], company: str) -> list[int]:
    return [r.position for r in eventlog.read_all(conn, LOG_START, company=company)]


def test_a_tenants_reader_never_passes_an_uncommitted_event_on_the_cluster(
    citus_url: str,
) -> None:
    """Two writers of one tenant on two coordinator connections: the one that took the lower
    position commits last. The tenant's commit-safe read (routed to its worker, `tx` stamped
    there) returns nothing in between, then both in order; a position reader passes the
    uncommitted one. With `tx` stamped on the coordinator the first read returns the later
    event alone (the horizon and `tx` would be two unrelated counters)."""
    company = f"race-{uuid.uuid4().hex[:10]}"
    url = make_url(citus_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with (
        psycopg.connect(url) as early,
        psycopg.connect(url) as late,
        psycopg.connect(url, autocommit=True) as reader,
    ):
        early_pos = _ping(early, company)
        late_pos = _ping(late, company)
        late.commit()
        assert early_pos < late_pos
        assert _tenant_log(reader, company) == []
        naive = reader.execute(
            "SELECT position FROM events WHERE company = %s ORDER BY position", (company,)
        ).fetchall()
        assert naive == [(late_pos,)], "a position reader would pass the uncommitted event"
        early.commit()
        deadline = time.monotonic() + 30
        while len(seen := _tenant_log(reader, company)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # another transaction on the worker may hold the horizon a while
        assert seen == [early_pos, late_pos]
