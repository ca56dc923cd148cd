"""`tasktrack audit` as an auditor reads it: what `verify` prints about a tampered stream, and the
status timeline `replay` prints (who moved the task from what to what, in order)."""

from __future__ import annotations

import json
import re

from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tests.e2e.cli import run

# position, date, time, user, from -> to (replay's text line)
TIMELINE = re.compile(r"^\s*(\d+)\s+\S+ \S+\s+(\S+)\s+(\S+) -> (\S+)\s")


def _run_twice(engine: Engine) -> tuple[str, str]:
    """A task that fails on an agent, is reset by its owner and runs again; and a bystander."""
    alice = Client(engine, Caller(company="lab", user="alice"))
    agent = alice.as_caller("lab", "agent-7")
    task = str(alice.create(name="flaky", type="training")["id"])
    alice.enqueue(task=task, queue_name="gpu", status_reason="first try")
    agent.started(task=task, status_reason="picked up")
    agent.failed(task=task, status_reason="exception", status_message="CUDA out of memory")
    alice.reset(task=task)
    alice.enqueue(task=task, queue_name="gpu")
    agent.started(task=task)
    agent.completed(task=task, status_message="finished")
    bystander = str(alice.create(name="bystander", type="testing")["id"])
    alice.enqueue(task=bystander, queue_name="gpu")
    return task, bystander


def test_verify_prints_the_broken_stream_and_its_first_bad_version(
    db: tuple[str, Engine],
) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    task, bystander = _run_twice(engine)
    clean = run("audit", "verify", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert clean.stdout.splitlines() == [
        "every hash chain holds",
        f"  {events} events under chain rule 2: the hash covers the tenant",
    ]
    with engine.begin() as conn:
        # A superuser puts the agent's work (four events of the task) on someone else.
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        edited = conn.execute(
            text(
                "UPDATE events SET metadata = replace(metadata::text, 'agent-7', 'mallory')::json "
                "WHERE stream_id = :s AND metadata::text LIKE '%agent-7%' "
                "RETURNING stream_version, position"
            ),
            {"s": task},
        ).all()
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))
    assert len(edited) == 4
    version, position = min(tuple(row) for row in edited)
    tampered = run("audit", "verify", env=env)
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines() == [
        f"stream {task}: breaks at version {version} (position {position}): stored hash does not "
        "match the event's contents and its predecessor"
    ]  # the first bad version only, and nothing about the untouched streams
    assert bystander not in tampered.stdout


def test_replay_prints_the_status_timeline_in_order(db: tuple[str, Engine]) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    task, _ = _run_twice(engine)
    replay = run("audit", "replay", task, env=env)
    assert replay.returncode == 0, replay.stderr
    lines = replay.stdout.splitlines()
    parsed = [TIMELINE.match(line) for line in lines]
    assert all(parsed), lines
    steps = [(m.group(2), m.group(3), m.group(4)) for m in parsed if m]
    assert steps == [
        ("alice", "created", "queued"),
        ("agent-7", "queued", "in_progress"),
        ("agent-7", "in_progress", "failed"),
        ("alice", "failed", "created"),
        ("alice", "created", "queued"),
        ("agent-7", "queued", "in_progress"),
        ("agent-7", "in_progress", "completed"),
    ]
    positions = [int(m.group(1)) for m in parsed if m]
    assert positions == sorted(positions)
    assert "reason='exception' message='CUDA out of memory'" in lines[2]
    assert "reason='reset' message='reset'" in lines[3]  # a reset always says so

    as_json = run("audit", "replay", task, "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(e["user"], e["from_status"], e["to_status"]) for e in entries] == steps
    assert [e["position"] for e in entries] == positions
    with engine.connect() as conn:
        hashes = conn.execute(
            text(
                "SELECT encode(hash, 'hex') FROM events WHERE position = ANY(:p) ORDER BY position"
            ),
            {"p": positions},
        ).scalars()
        assert [e["hash"] for e in entries] == list(hashes)

    unknown = run("audit", "replay", "no-such-task", env=env)
    assert unknown.returncode == 1
    assert "no status changes of no-such-task" in unknown.stderr
