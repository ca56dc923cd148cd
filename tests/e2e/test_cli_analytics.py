"""`tasktrack analytics` as a user drives it: summary, in-status, queue-waits, activity; tables
and JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.store.engine import make_engine
from tests import settle
from tests.e2e.cli import Tt, as_json, ok, run


@pytest.fixture(scope="module")
def cli_engine(cli_database: str) -> Iterator[Engine]:
    engine = make_engine(cli_database, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def cli_group() -> str:
    return "analytics"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ran(client: Client, project: str, task_type: str = "training") -> str:
    """A task queued, started and completed."""
    task = str(client.create(name="analysed", type=task_type, project=project)["id"])
    client.enqueue(task=task, queue_name="gpu")
    client.started(task=task)
    client.completed(task=task)
    return task


def test_summary_by_project_and_type(client: Client, tt: Tt) -> None:
    ran(client, "vision")
    ran(client, "vision", "testing")
    ran(client, "speech")

    table = ok(tt("summary", "--by", "project"))
    lines = table.splitlines()
    [queued_vision] = [line for line in lines if "vision" in line and "queued" in line]
    assert queued_vision.split()[:4] == ["vision", "queued", "2", "0"]
    [completed_speech] = [line for line in lines if "speech" in line and "completed" in line]
    assert completed_speech.split()[:4] == ["speech", "completed", "1", "1"]  # still open

    document = as_json(tt("summary", "--by", "type", "--status", "in_progress", "--json"))
    assert document["group_by"] == "type"
    rows = document["summary"]
    assert [(r["group"], r["status"], r["entries"]) for r in rows] == [
        ("testing", "in_progress", 1),
        ("training", "in_progress", 2),
    ]
    expected = {r.group: r.seconds for r in client.status_summary("type", status="in_progress")}
    assert {r["group"]: r["seconds"] for r in rows} == expected


def test_in_status_at_a_moment(client: Client, tt: Tt) -> None:
    task = ran(client, "vision")
    waiting = str(client.create(name="waiting", type="training")["id"])
    client.enqueue(task=waiting, queue_name="gpu")
    history = client.get_status_history(task)
    queued_at, started_at = history[0].at, history[1].at

    at = queued_at.isoformat()
    assert task in ok(tt("in-status", "queued", "--at", at))
    document = as_json(tt("in-status", "queued", "--at", at, "--json"))
    assert [t["task_id"] for t in document["tasks"]] == [task]
    assert _time(document["at"]) == queued_at
    assert _time(document["tasks"][0]["entered_at"]) == queued_at
    assert _time(document["tasks"][0]["left_at"]) == started_at
    before = (queued_at - timedelta(microseconds=1)).isoformat()
    assert as_json(tt("in-status", "queued", "--at", before, "--json"))["tasks"] == []
    started = as_json(tt("in-status", "in_progress", "--at", started_at.isoformat(), "--json"))
    assert [t["task_id"] for t in started["tasks"]] == [task]
    now = as_json(tt("in-status", "queued", "--json"))  # --at defaults to now
    assert [t["task_id"] for t in now["tasks"]] == [waiting]
    assert as_json(tt("in-status", "queued", "--json", company_="cli-nobody"))["tasks"] == []


def test_queue_waits_per_project(client: Client, tt: Tt) -> None:
    task = ran(client, "vision")
    ran(client, "speech")
    history = client.get_status_history(task)

    [line] = [
        line for line in ok(tt("queue-waits", "--project", "vision")).splitlines() if task in line
    ]
    assert "in_progress" in line
    document = as_json(tt("queue-waits", "--project", "vision", "--json"))
    [wait] = document["waits"]
    assert wait["task_id"] == task
    assert _time(wait["queued_at"]) == history[0].at
    assert _time(wait["started_at"]) == history[1].at
    assert wait["wait_seconds"] == (history[1].at - history[0].at).total_seconds()
    assert len(as_json(tt("queue-waits", "--json"))["waits"]) == 2


def test_bad_input_is_one_line_and_a_failing_exit(tt: Tt) -> None:
    naive = tt("in-status", "queued", "--at", "2026-01-01T00:00:00")
    assert naive.returncode == 1
    assert naive.stderr.strip() == (
        "tasktrack: Validation error: at needs a timezone (e.g. Z or +00:00)"
    )
    window = tt("summary", "--since", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z")
    assert window.returncode == 1
    assert window.stderr.strip() == "tasktrack: since must not be after until"
    assert tt("summary", "--by", "week").returncode == 2
    assert tt("in-status", "running").returncode == 2


def _numbers(table: str, project: str) -> list[int]:
    """The project's counters in the activity table, summed over its days."""
    rows = [line.split() for line in table.splitlines() if f" {project} " in f" {line} "]
    assert rows, table
    return [sum(int(r[i]) for r in rows) for i in range(2, 8)]


def test_activity_per_project_and_day(
    client: Client, tt: Tt, cli_database: str, cli_engine: Engine, company: str
) -> None:
    ran(client, "vision")
    ran(client, "vision")
    ran(client, "speech")
    settle.horizon_reaches_end(cli_engine)
    with cli_engine.connect() as conn:
        mine = conn.execute(
            text("SELECT count(*) FROM events WHERE company = :c"), {"c": company}
        ).scalar_one()

    behind = ok(tt("activity"))
    assert "vision" not in behind  # the runner has not applied them yet, and the table says so
    assert f"{mine} events of this company not in it yet" in " ".join(behind.split())
    assert as_json(tt("activity", "--json"))["pending_events"] == mine

    caught_up = run("projections", "run", env={"TASKTRACK_DATABASE_URL": cli_database})
    assert caught_up.returncode == 0, caught_up.stderr
    table = ok(tt("activity"))
    # created, status changes, completed, failed, metric reports, metric points
    assert _numbers(table, "vision") == [2, 6, 2, 0, 0, 0]
    assert _numbers(table, "speech") == [1, 3, 1, 0, 0, 0]
    assert "caught up" in table

    document = as_json(tt("activity", "--json"))
    assert document == msgspec.to_builtins(client.project_activity())
    assert document["pending_events"] == 0
    today = document["days"][-1]["day"]
    only = as_json(
        tt("activity", "--project", "speech", "--since", today, "--until", today, "--json")
    )
    assert [(d["project"], d["day"]) for d in only["days"]] == [("speech", today)]
    assert as_json(tt("activity", "--json", company_="cli-nobody"))["days"] == []


def test_activity_refuses_bad_days(tt: Tt) -> None:
    word = tt("activity", "--since", "yesterday")
    assert word.returncode == 1
    assert word.stderr.strip() == (
        "tasktrack: Validation error: since 'yesterday' is neither a day (YYYY-MM-DD) "
        "nor an ISO time with a zone"
    )
    window = tt("activity", "--since", "2026-02-01", "--until", "2026-01-31")
    assert window.returncode == 1
    assert window.stderr.strip() == "tasktrack: since must not be after until"
    assert tt("activity", "--limit", "0").returncode == 2
