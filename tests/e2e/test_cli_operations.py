"""Operators and auditors at the command line: projections, audit, export/import, and a runner
killed with SIGKILL in the middle of a batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tests import settle
from tests.e2e.cli import TASKTRACK, run

SCALAR = "training_stats_scalar"


def _fill(engine: Engine, tasks: int) -> None:
    client = Client(engine, Caller(company="ops", user="olga"))
    for i in range(tasks):
        task = str(client.create(name=f"job {i}", type="training", project=f"p{i % 3}")["id"])
        client.started(task=task)
        client.add_events([{"task": task, "type": SCALAR, "metric": "m", "value": 1.0, "iter": i}])
        client.completed(task=task)


def _checkpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT position FROM projector_checkpoints WHERE name = 'activity_daily'")
        ).scalar()
    return int(found or 0)


def _end(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(position) FROM events")).scalar_one())


def test_projections_and_audit_commands(db: tuple[str, Engine]) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    _fill(engine, 5)
    settle.horizon_reaches_end(engine)
    status = run("projections", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout.splitlines()[0])["pending"] == 20
    ran = run("projections", "run", env=env)
    assert "activity_daily: applied 20 events" in ran.stdout
    assert run("projections", "verify", env=env).returncode == 0
    anchor = run("audit", "anchor", env=env).stdout.strip()
    assert run("audit", "verify", "--anchor", anchor, env=env).returncode == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET comment = 'forged'"))
        victim = conn.execute(text("SELECT stream_id FROM events LIMIT 1")).scalar_one()
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        conn.execute(text("DELETE FROM events WHERE stream_id = :s"), {"s": victim})
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))
    verify = run("projections", "verify", env=env)
    assert verify.returncode == 1
    assert "differs in comment" in verify.stdout
    audited = run("audit", "verify", "--anchor", anchor, env=env)
    assert audited.returncode == 1
    assert "anchor" in audited.stdout
    # Per tenant is a sharded log's (Citus): refused here, with nothing changed.
    for args in (("rebuild", "--company", "ops"), ("verify", "--company", "ops")):
        refused = run("projections", *args, env=env)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "single PostgreSQL" in refused.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT DISTINCT comment FROM tasks")).scalars().all() == [
            "forged"
        ]
    assert run("projections", "rebuild", env=env).returncode == 0
    assert run("projections", "verify", env=env).returncode == 0
    replay = run("audit", "replay", victim, env=env)
    assert replay.returncode == 1  # its events are gone: nothing to tell
    bad = run("audit", "verify", "--anchor", "nonsense", env=env)
    assert bad.returncode == 2
    assert "not an anchor" in bad.stderr


def test_export_then_import_elsewhere(
    db: tuple[str, Engine], new_database: Callable[[], str], tmp_path: Path
) -> None:
    url, engine = db
    _fill(engine, 4)
    settle.horizon_reaches_end(engine)
    path = tmp_path / "log.jsonl"
    exported = run("export", "-o", str(path), env={"TASKTRACK_DATABASE_URL": url})
    assert exported.returncode == 0, exported.stderr
    assert "exported 16 events" in exported.stderr
    target = new_database()
    env = {"TASKTRACK_DATABASE_URL": target}
    assert run("db", "upgrade", env=env).returncode == 0
    imported = run("import", str(path), "--unsigned", env=env)
    assert imported.returncode == 0, imported.stderr
    assert run("projections", "verify", env=env).returncode == 0
    assert run("audit", "verify", env=env).returncode == 0
    again = run("import", str(path), "--unsigned", env=env)
    assert again.returncode == 1
    assert "empty" in again.stderr


def test_a_runner_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    db: tuple[str, Engine],
) -> None:
    url, engine = db
    _fill(engine, 600)  # 2400 events
    end = _end(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    env["TASKTRACK_DATABASE_URL"] = url
    runner = subprocess.Popen(
        [TASKTRACK, "projections", "run", "--follow", "--batch-size", "2", "--batches-only"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    holder = engine.connect()
    watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while _checkpoint(engine) == 0:
            assert time.monotonic() < deadline, "the runner never committed a batch"
            time.sleep(0.005)
        # Block the runner inside its next batch: it has read events and waits to write rows.
        holder.execute(text("LOCK TABLE activity_daily IN EXCLUSIVE MODE"))
        while True:
            # (pg_stat_activity is a snapshot per transaction: watch from an autocommit one)
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tasktrack' "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%activity_daily%'"
                )
            ).scalar_one()
            if waiting:
                break
            assert time.monotonic() < deadline, "the runner never blocked mid-batch"
            time.sleep(0.01)
        committed = _checkpoint(engine)
        assert 0 < committed < end, "the kill must land in the middle of the log"
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    finally:
        holder.rollback()
        holder.close()
        watcher.close()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert _checkpoint(engine) == committed  # the killed batch left nothing behind
    assert run("projections", "run", env={"TASKTRACK_DATABASE_URL": url}).returncode == 0
    assert _checkpoint(engine) == end
    verified = run("projections", "verify", env={"TASKTRACK_DATABASE_URL": url})
    assert verified.returncode == 0, verified.stdout
    with engine.connect() as conn:
        totals = conn.execute(
            text(
                "SELECT sum(tasks_created), sum(status_changes), sum(metric_points) "
                "FROM activity_daily"
            )
        ).one()
    assert tuple(totals) == (600, 1200, 600)
