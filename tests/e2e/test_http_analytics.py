"""The `analytics.*` endpoints over a real server: answers checked against the status history
(and, for the activity rollup, against the log once the catch-up runner has applied it)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.projections import registry, runner
from tests import settle
from tests.e2e.http import Api

ANALYTICS = (
    "analytics.status_intervals",
    "analytics.status_durations",
    "analytics.queue_waits",
    "analytics.status_summary",
    "analytics.tasks_in_status",
    "analytics.get_project_activity",
)
ACTIVITY = registry.BY_NAME["activity_daily"]
SCALAR = "training_stats_scalar"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _life(api: Api, project: str = "http-analytics") -> tuple[str, list[dict[str, Any]]]:
    """A task created, queued, started and completed; its status history."""
    task = str(
        api.ok("tasks.create", {"name": "analysed", "type": "training", "project": project})["id"]
    )
    api.ok("tasks.enqueue", {"task": task, "queue_name": "gpu"})
    api.ok("tasks.started", {"task": task})
    api.ok("tasks.completed", {"task": task})
    history = api.ok("tasks.get_status_history", {"task": task})["history"]
    return task, history


@pytest.mark.smoke
def test_intervals_durations_and_waits_follow_the_history(api: Api) -> None:
    task, history = _life(api)
    created = _time(api.ok("tasks.get_by_id", {"task": task})["task"]["created"])
    changes = [_time(h["at"]) for h in history]

    intervals = api.ok("analytics.status_intervals", {"task": task})["intervals"]
    assert [i["status"] for i in intervals] == ["created", "queued", "in_progress", "completed"]
    assert [_time(i["entered_at"]) for i in intervals] == [created, *changes]
    assert [i["left_at"] and _time(i["left_at"]) for i in intervals] == [*changes, None]
    assert [i["seconds"] for i in intervals[:-1]] == [
        (b - a).total_seconds() for a, b in itertools.pairwise([created, *changes])
    ]
    assert intervals[-1]["seconds"] is None

    durations = api.ok("analytics.status_durations", {"task": task})["durations"]
    assert sum(d["seconds"] for d in durations) == pytest.approx(
        (changes[-1] - created).total_seconds(), abs=1e-6
    )
    assert [d["status"] for d in durations if d["is_current"]] == ["completed"]

    (wait,) = api.ok("analytics.queue_waits", {"project": "http-analytics"})["waits"]
    assert (wait["task_id"], wait["next_status"]) == (task, "in_progress")
    assert _time(wait["queued_at"]) == changes[0]
    assert _time(wait["started_at"]) == changes[1]
    assert wait["wait_seconds"] == (changes[1] - changes[0]).total_seconds()


def test_summary_and_tasks_in_status(api: Api) -> None:
    first, history = _life(api, project="p1")
    second, _ = _life(api, project="p2")
    queued_at, started_at = _time(history[0]["at"]), _time(history[1]["at"])

    summary = api.ok("analytics.status_summary", {"group_by": "project", "status": "queued"})
    assert summary["group_by"] == "project"
    assert [(r["group"], r["status"], r["entries"]) for r in summary["summary"]] == [
        ("p1", "queued", 1),
        ("p2", "queued", 1),
    ]
    by_type = api.ok("analytics.status_summary", {"group_by": "type"})["summary"]
    assert {(r["group"], r["status"]): r["entries"] for r in by_type} == {
        ("training", s): 2 for s in ("created", "queued", "in_progress", "completed")
    }

    def in_status(status: str, at: datetime) -> list[str]:
        data = api.ok("analytics.tasks_in_status", {"status": status, "at": at.isoformat()})
        assert data["status"] == status
        return [t["task_id"] for t in data["tasks"]]

    assert in_status("queued", queued_at) == [first]
    assert in_status("created", queued_at - timedelta(microseconds=1)) == [first]
    assert in_status("queued", started_at) == []
    assert in_status("in_progress", started_at) == [first]
    assert set(in_status("completed", datetime.now(queued_at.tzinfo) + timedelta(1))) == {
        first,
        second,
    }


def test_another_company_sees_none_of_it(api: Api, new_caller: Callable[..., Api]) -> None:
    task, history = _life(api)
    other = new_caller()
    assert other.ok("analytics.status_intervals", {})["intervals"] == []
    assert other.ok("analytics.status_summary", {})["summary"] == []
    assert other.ok("analytics.queue_waits", {})["waits"] == []
    body = {"status": "queued", "at": history[0]["at"]}
    assert other.ok("analytics.tasks_in_status", body)["tasks"] == []
    assert api.ok("analytics.tasks_in_status", body)["tasks"]
    assert other.error("analytics.status_durations", {"task": task})[:2] == (400, 101)


@pytest.mark.parametrize(
    ("endpoint", "body", "codes"),
    [
        ("analytics.status_summary", {"group_by": "week"}, (400, 12)),
        ("analytics.status_summary", {"status": "running"}, (400, 12)),
        ("analytics.status_intervals", {"since": "2026-01-01T00:00:00"}, (400, 12)),
        ("analytics.status_intervals", {"since": "not a time"}, (400, 12)),
        ("analytics.tasks_in_status", {"status": "queued"}, (400, 12)),
        ("analytics.tasks_in_status", {"status": "queued", "at": "2026-01-01T00:00:00"}, (400, 12)),
        (
            "analytics.queue_waits",
            {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            (400, 16),
        ),
        ("analytics.status_durations", {"limit": 0}, (400, 16)),
        ("analytics.status_intervals", {"task": "0" * 32}, (400, 101)),
        ("analytics.get_project_activity", {"since": "last week"}, (400, 12)),
        ("analytics.get_project_activity", {"until": "2026-02-30"}, (400, 12)),
        ("analytics.get_project_activity", {"since": "2026-01-01T00:00:00"}, (400, 12)),
        ("analytics.get_project_activity", {"since": 20260101}, (400, 12)),
        ("analytics.get_project_activity", {"limit": "ten"}, (400, 12)),
        (
            "analytics.get_project_activity",
            {"since": "2026-02-01", "until": "2026-01-31"},
            (400, 16),
        ),
        ("analytics.get_project_activity", {"limit": 10_001}, (400, 16)),
    ],
)
def test_bad_requests(
    api: Api, endpoint: str, body: dict[str, Any], codes: tuple[int, int]
) -> None:
    assert api.error(endpoint, body)[:2] == codes


def test_openapi_describes_the_analytics_bodies(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    for name in ANALYTICS:
        assert f"/{name}" in document["paths"]
    summary = document["components"]["schemas"]["StatusSummary"]["properties"]
    assert set(summary["group_by"]["enum"]) == {"project", "type", "user", "day"}
    assert document["components"]["schemas"]["TasksInStatus"]["required"] == ["status", "at"]
    activity = document["components"]["schemas"]["GetProjectActivity"]["properties"]
    assert set(activity) == {"project", "since", "until", "limit"}


# --- the activity rollup (a catch-up projection) ---------------------------------------------


def _company_events(engine: Engine, company: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM events WHERE company = :c"), {"c": company}
        ).scalar_one()
    return int(found)


def test_project_activity_is_the_rollup_as_of_the_runner(
    api: Api, new_caller: Callable[..., Api], e2e_engine: Engine
) -> None:
    company = str(api.credential.company)  # type: ignore[attr-defined]
    _life(api, project="p1")
    _life(api, project="p1")
    task = api.ok("tasks.create", {"name": "reports", "type": "training", "project": "p2"})["id"]
    api.ok("tasks.started", {"task": task})
    for it in (1, 2):
        point = {"task": task, "type": SCALAR, "metric": "loss", "value": 1.0 / it, "iter": it}
        api.ok("events.add", {**point, "variant": "train"})
    api.ok("tasks.failed", {"task": task})
    settle.horizon_reaches_end(e2e_engine)

    behind = api.ok("analytics.get_project_activity", {})
    assert behind["days"] == []  # nothing applied yet: the answer says how much is missing
    assert behind["pending_events"] == _company_events(e2e_engine, company)
    assert behind["pending_capped"] is False
    assert behind["oldest_pending_at"] is not None

    runner.catch_up(e2e_engine, ACTIVITY)
    data = api.ok("analytics.get_project_activity", {})
    assert data["pending_events"] == 0
    assert data["oldest_pending_at"] is None
    assert data["as_of_position"] > 0
    assert data["applied_at"] is not None
    # Each day's rows (a run near midnight UTC may split them): summed per project.
    totals: dict[str, dict[str, int]] = {}
    for day in data["days"]:
        row = totals.setdefault(day["project"], {})
        for key, value in day.items():
            if key not in ("project", "day"):
                row[key] = row.get(key, 0) + value
    assert totals == {
        "p1": {
            "tasks_created": 2,
            "status_changes": 6,  # queued, in_progress, completed, twice
            "completed": 2,
            "failed": 0,
            "metric_reports": 0,
            "metric_points": 0,
        },
        "p2": {
            "tasks_created": 1,
            "status_changes": 2,  # in_progress, failed
            "completed": 0,
            "failed": 1,
            "metric_reports": 2,
            "metric_points": 2,
        },
    }
    one = api.ok("analytics.get_project_activity", {"project": "p2", "limit": 1})
    assert [d["project"] for d in one["days"]] == ["p2"]
    today = data["days"][-1]["day"]
    window = {"since": today, "until": f"{today}T23:59:59Z"}
    assert api.ok("analytics.get_project_activity", window)["days"] == [
        d for d in data["days"] if d["day"] == today
    ]

    other = new_caller()
    other.ok("tasks.create", {"name": "theirs", "type": "training", "project": "p1"})
    settle.horizon_reaches_end(e2e_engine)
    theirs = other.ok("analytics.get_project_activity", {})
    assert theirs["days"] == []  # another company never sees the first one's rows
    # Nor does it count the first company's events among its own pending ones.
    assert theirs["pending_events"] == _company_events(e2e_engine, other.credential.company)  # type: ignore[attr-defined]
    assert other.ok("analytics.get_project_activity", {"project": "p1"})["days"] == []


# --- waits in queue lines, from the queues' streams -------------------------------------------


def test_queue_line_waits_come_from_the_queue_stream(
    api: Api, new_caller: Callable[..., Api]
) -> None:
    queue = api.ok("queues.create", {"name": "http-lines"})["id"]
    tasks = [
        api.ok("tasks.create", {"name": f"waiter {i}", "type": "training"})["id"] for i in range(2)
    ]
    for task in tasks:
        api.ok("tasks.enqueue", {"task": task, "queue": queue})
    handed = api.ok("queues.get_next_task", {"queue": queue})["entry"]["task"]
    assert handed == tasks[0]
    api.ok("workers.status_report", {"worker": "http-box", "task": handed, "queue": queue})
    waits = api.ok("analytics.queue_line_waits", {"queue": "http-lines"})["waits"]
    assert [(w["task"], w["outcome"], w["worker"]) for w in waits] == [
        (tasks[0], "handed_out", "http-box"),
        (tasks[1], None, None),
    ]
    done = waits[0]
    assert done["wait_seconds"] == pytest.approx(
        (_time(done["left_at"]) - _time(done["entered_at"])).total_seconds()
    )
    assert waits[1]["left_at"] is None
    assert waits[1]["seconds_so_far"] >= 0
    # Another company neither sees the queue nor learns it exists.
    stranger = new_caller()
    code, subcode, _ = stranger.error("analytics.queue_line_waits", {"queue": queue})
    assert (code, subcode) == api.error("analytics.queue_line_waits", {"queue": "no-such"})[:2]
    assert code == 400
    assert stranger.ok("analytics.queue_line_waits", {})["waits"] == []
    assert api.error("analytics.queue_line_waits", {"limit": 0})[:2] == (400, 16)
