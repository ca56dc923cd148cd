"""The workers service over HTTP, as clearml-agent drives it: register, heartbeats with machine
stats and the task it runs, get_all, unregister; refusals with ClearML's codes."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.e2e.http import Api


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def _heartbeat(api: Api, worker: str, **extra: object) -> None:
    # What clearml-agent's resource monitor sends (helper/resource_monitor.py): ms timestamps,
    # a scalar cpu_usage, tags=None and is_daemon (unknown here: ignored).
    body = {
        "worker": worker,
        "timestamp": int(time.time()) * 1000,
        "machine_stats": {"cpu_usage": 12.5, "memory_used": 900.0, "gpu_usage": [3, 4]},
        "tags": None,
        "is_daemon": True,
        **extra,
    }
    assert api.ok("workers.status_report", body) == {}


def test_an_agent_registers_runs_a_task_and_leaves(api: Api, e2e_engine: Engine) -> None:
    task = api.ok("tasks.create", {"name": "agent task", "type": "training"})["id"]
    api.ok("tasks.enqueue", {"task": task, "queue_name": "default"})
    queue = api.ok("tasks.get_by_id", {"task": task})["task"]["execution"]["queue"]
    api.ok("tasks.started", {"task": task})
    assert api.ok("workers.register", {"worker": "host:0", "queues": [queue]}) == {}
    _heartbeat(api, "host:0", task=task, queue=queue, queues=[queue], ip="6.6.6.6")
    before = _events(e2e_engine)
    for _ in range(5):
        _heartbeat(api, "host:0", task=task, queue=queue, queues=[queue])
    assert _events(e2e_engine) == before  # heartbeats are rows, not events

    (worker,) = api.ok("workers.get_all", {})["workers"]
    assert worker["id"] == "host:0"
    assert worker["task"]["id"] == task
    assert worker["task"]["name"] == "agent task"
    assert worker["queue"] == {"id": queue, "name": "default", "display_name": None}
    assert worker["queues"] == [{"id": queue, "name": "default", "display_name": None}]
    assert worker["user"]["id"] == "alice"
    assert worker["ip"] == "127.0.0.1"  # where the call came from, not what a body says
    assert worker["register_timeout"] == 600
    assert {"register_time", "last_activity_time", "last_report_time"} <= set(worker)
    assert api.ok("workers.get_count", {})["count"] == 1
    assert api.ok("workers.get_all", {"worker_pattern": "other*"})["workers"] == []

    # tasks.stop of the task it runs only asks the worker to stop.
    stop = api.ok("tasks.stop", {"task": task})
    assert stop["fields"]["status"] == "in_progress"  # ClearML names it although it stays
    assert stop["fields"]["status_message"] == "stopping"
    assert api.ok("tasks.get_by_id", {"task": task})["task"]["status_message"] == "stopping"

    keys = api.ok("workers.get_metric_keys", {"worker_ids": ["host:0"]})["categories"]
    assert {c["name"] for c in keys} == {"cpu", "memory", "gpu"}
    now = int(time.time())
    stats = api.ok(
        "workers.get_stats",
        {
            "items": [{"key": "cpu_usage", "aggregation": "max"}],
            "from_date": now - 400,
            "to_date": now + 40,
            "interval": 40,
            "worker_ids": ["host:0"],
        },
    )["workers"]
    assert stats[0]["worker"] == "host:0"
    assert 12.5 in stats[0]["metrics"][0]["stats"][0]["values"]
    report = api.ok(
        "workers.get_activity_report", {"from_date": now - 400, "to_date": now + 40, "interval": 40}
    )
    assert max(report["active"]["counts"]) == 1

    assert api.ok("workers.unregister", {"worker": "host:0", "queues": [queue]}) == {}
    assert api.ok("workers.get_all", {"last_seen": 0})["workers"] == []
    assert api.ok("workers.unregister", {"worker": "host:0"}) == {}  # not an error


def test_refusals_change_nothing(api: Api, e2e_engine: Engine) -> None:
    before = _events(e2e_engine)
    now = int(time.time())
    window = {"from_date": now - 100, "to_date": now}
    refusals = [
        ("workers.register", {"worker": "w", "timeout": -5}, 1002),
        ("workers.register", {"worker": "w", "queues": ["nope"]}, 701),
        ("workers.register", {}, 12),
        ("workers.status_report", {"worker": "w", "machine_stats": {"cpu_usage": "hot"}}, 12),
        ("workers.get_metric_keys", {"worker_ids": ["nobody"]}, 1005),
        ("workers.get_stats", {**window, "interval": 40, "items": []}, 12),
        ("workers.get_stats", {**window, "interval": 0, "items": [{"key": "cpu_usage"}]}, 12),
        ("workers.get_activity_report", {"from_date": now, "to_date": now, "interval": 40}, 16),
        # A chart too wide to draw is a bad filter, a NUL a bad request (not 5xx).
        ("workers.get_activity_report", {"from_date": 0, "to_date": 1e300, "interval": 1}, 16),
        ("workers.get_stats", {**window, "interval": 1, "items": [{"key": "a\u0000"}]}, 12),
        ("workers.get_all", {"worker_pattern": "w\u0000"}, 12),
        ("workers.register", {"worker": "w", "timeout": 2**40}, 12),
    ]
    for endpoint, body, subcode in refusals:
        assert api.error(endpoint, body)[:2] == (400, subcode), endpoint
    assert _events(e2e_engine) == before
    assert api.ok("workers.get_all", {})["workers"] == []
    assert api.ok("workers.get_all", {"last_seen": 10**15})["workers"] == []


def test_workers_are_per_company(api: Api, new_caller: Callable[..., Api]) -> None:
    api.ok("workers.register", {"worker": "mine"})
    other = new_caller()
    assert other.ok("workers.get_all", {})["workers"] == []
    assert other.ok("workers.get_count", {})["count"] == 0
    other.ok("workers.register", {"worker": "mine"})  # the same id in another company
    assert [w["id"] for w in api.ok("workers.get_all", {})["workers"]] == ["mine"]
    assert [w["company"]["id"] for w in other.ok("workers.get_all", {})["workers"]] != [
        w["company"]["id"] for w in api.ok("workers.get_all", {})["workers"]
    ]
