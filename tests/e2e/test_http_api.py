"""The HTTP API as a client drives it: a task's life, the protocol, every error code (§6)."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tasktrack.store.eventlog import lock_key
from tests.e2e.conftest import BODY_LIMIT
from tests.e2e.http import Api

SCALAR = "training_stats_scalar"


def _events_of(engine: Engine, company: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM events WHERE company = :c"), {"c": company}
            ).scalar_one()
        )


def _company(api: Api) -> str:
    return str(api.credential.company)  # type: ignore[attr-defined]


def _task(api: Api, **fields: Any) -> str:
    return str(api.ok("tasks.create", {"name": "http task", "type": "training", **fields})["id"])


@pytest.mark.smoke
def test_a_full_task_life(api: Api) -> None:
    task = _task(api, tags=["b", "a"], project="p1")
    assert api.ok("tasks.enqueue", {"task": task, "queue_name": "gpu"})["queued"] == 1
    api.ok("workers.status_report", {"worker": "w1", "task": task})
    api.ok("tasks.started", {"task": task, "status_reason": "picked"})
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
        f'{{"task": "{task}", "type": "{SCALAR}", "metric": "loss", '
        f'"variant": "train", "value": NaN, "iter": 3}}'
    )
    response = api.raw(
        "events.add_batch", "\n".join(lines), headers={"Content-Type": "application/json-lines"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"added": 4, "errors": 0, "errors_info": {}}
    api.ok("tasks.completed", {"task": task})
    api.ok("tasks.publish", {"task": task})

    got = api.ok("tasks.get_by_id", {"task": task})["task"]
    assert got["status"] == "published"
    assert got["tags"] == ["a", "b"]
    assert got["last_iteration"] == 3
    assert got["last_worker"] == "w1"
    (variants,) = got["last_metrics"].values()
    (loss,) = variants.values()
    assert (loss["value"], loss["min_value"], loss["max_value"], loss["count"]) == (
        None,
        1.0,
        3.0,
        4,
    )  # the last value is NaN: JSON says null
    history = api.ok("tasks.get_status_history", {"task": task})["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("created", "queued"),
        ("queued", "in_progress"),
        ("in_progress", "completed"),
        ("completed", "publishing"),
        ("publishing", "published"),
    ]
    assert set(history[0]) == {
        "version",
        "from_status",
        "to_status",
        "reason",
        "message",
        "user",
        "at",
        "force",
    }
    assert history[1]["reason"] == "picked"
    series = api.ok("events.scalar_metrics_iter_histogram", {"task": task})
    assert series["loss"]["train"]["x"] == [0, 1, 2, 3]
    assert series["loss"]["train"]["y"][:3] == [3.0, 2.0, 1.0]
    # ClearML's `samples`: two buckets of two iterations; the NaN stays out of the mean.
    sampled = api.ok("events.scalar_metrics_iter_histogram", {"task": task, "samples": 2})
    assert sampled["loss"]["train"]["x"] == [0, 2]
    assert sampled["loss"]["train"]["y"] == [2.5, 1.0]
    status, envelope = api.call(
        "events.scalar_metrics_iter_histogram", {"task": task, "samples": "x"}
    )
    assert (status, envelope["meta"]["result_subcode"]) == (400, 12)


def test_paths_methods_and_versions(api: Api) -> None:
    task = _task(api)
    for path in (
        "tasks.get_by_id",
        "v2.23/tasks.get_by_id",
        "v2.1/tasks.get_by_id",
        "v999.0/tasks.get_by_id",  # above the newest: served as the newest (ClearML's default)
    ):
        for method in ("GET", "POST"):
            status, envelope = api.call(path, {"task": task, "method": "get"}, method=method)
            assert status == 200, envelope
            assert envelope["data"]["task"]["id"] == task
            assert envelope["meta"]["endpoint"]["actual_version"] == "2.23"
    _, newest = api.call("v999.0/tasks.get_by_id", {"task": task})
    assert newest["meta"]["endpoint"]["requested_version"] == "999.0"
    assert api.error("v2/tasks.get_by_id", {"task": task})[0] == 404
    assert api.error("tasks.no_such_action", {})[:1] == (404,)
    assert api.raw("tasks.get_by_id", method="PUT").status_code == 405


def test_unknown_keys_are_ignored_and_user_company_come_from_the_credential(api: Api) -> None:
    task = _task(api, user="mallory", company="elsewhere", bogus={"x": 1})
    got = api.ok("tasks.get_by_id", {"task": task})["task"]
    assert got["user"] == "alice"
    assert got["company"] == _company(api)


@pytest.mark.parametrize(
    ("endpoint", "body", "code", "subcode", "says"),
    [
        ("tasks.create", {"name": "ok name", "type": "bogus"}, 400, 12, "$.type"),
        ("tasks.create", {"type": "training"}, 400, 12, "name"),
        ("tasks.create", {"name": 5, "type": "training"}, 400, 12, "$.name"),
        ("tasks.create", {"name": "ab", "type": "training"}, 400, 800, "too short"),
        ("tasks.get_by_id", {"task": "0" * 32}, 400, 101, "Invalid task id"),
        ("tasks.get_all", {"page": -1}, 400, 16, "page"),
        ("tasks.get_all", {"order_by": ["no_such_field"]}, 400, 16, "no_such_field"),
        ("events.add_batch", "", 400, 17, "empty"),
        ("tasks.archive_many", {"ids": []}, 400, 12, "$.ids"),
        ("models.move", {"ids": [], "project_name": "p"}, 400, 12, "length >= 1"),
    ],
)
def test_request_errors(
    api: Api, endpoint: str, body: Any, code: int, subcode: int, says: str
) -> None:
    if isinstance(body, str):
        response = api.raw(endpoint, body)
        meta = response.json()["meta"]
        got = (meta["result_code"], meta["result_subcode"], meta["result_msg"])
    else:
        got = api.error(endpoint, body)
    assert got[:2] == (code, subcode)
    assert says.lower() in got[2].lower()


def test_refused_writes_change_nothing(api: Api, e2e_engine: Engine) -> None:
    task = _task(api)
    queued = _task(api)
    api.ok("tasks.enqueue", {"task": queued, "queue_name": "q"})
    api.ok(
        "tasks.edit_hyper_params",
        {"task": task, "hyperparams": [{"section": "s", "name": "a", "value": "1"}]},
    )
    before_events = _events_of(e2e_engine, _company(api))
    before = [api.ok("tasks.get_by_id", {"task": t})["task"] for t in (task, queued)]
    refusals = [
        ("tasks.stopped", {"task": task}, 110),
        ("tasks.delete", {"task": queued}, 123),
        ("tasks.enqueue", {"task": task, "queue": "0" * 32}, 701),
        ("tasks.enqueue", {"task": queued, "queue_name": "q"}, 706),
        ("tasks.enqueue", {"task": task, "queue": "x", "queue_name": "y"}, 12),
        (
            "tasks.delete_hyper_params",
            {"task": task, "hyperparams": [{"section": "s"}, {"section": "s", "name": "a"}]},
            15,
        ),
        ("tasks.edit", {"task": task, "comment": "x", "expected_version": 1}, 0),
        ("tasks.edit", {"task": task, "name": "no"}, 800),
        ("tasks.edit", {"task": task, "tags": "not-a-list"}, 12),
        ("events.add_batch", None, 131),
    ]
    for endpoint, body, subcode in refusals:
        if body is None:
            response = api.raw(
                endpoint, json.dumps({"task": "0" * 32, "type": SCALAR, "metric": "m", "value": 1})
            )
            meta = response.json()["meta"]
            assert (meta["result_code"], meta["result_subcode"]) == (400, 131)
            assert meta["error_data"]["errors_info"] == {"Invalid task id": 1}
            continue
        code, sub, _msg = api.error(endpoint, body)
        expected_code = 409 if endpoint == "tasks.edit" and subcode == 0 else 400
        assert (code, sub) == (expected_code, subcode), (endpoint, body)
    assert _events_of(e2e_engine, _company(api)) == before_events
    assert [api.ok("tasks.get_by_id", {"task": t})["task"] for t in (task, queued)] == before


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'{"task": ',
        '{"name": "\u00e9\\u0000x", "type": "training"}'.encode(),
        b"\xff\xfe\x00garbage",
        b'{"name": "ok name", "type": "training", "tags": {"a": 1}}',
    ],
)
def test_malformed_bodies_are_400_12_and_change_nothing(
    api: Api, e2e_engine: Engine, payload: bytes
) -> None:
    before = _events_of(e2e_engine, _company(api))
    response = api.raw("tasks.create", payload)
    meta = response.json()["meta"]
    assert (response.status_code, meta["result_code"], meta["result_subcode"]) == (400, 400, 12)
    assert _events_of(e2e_engine, _company(api)) == before
    assert api.ok("tasks.get_all", {})["tasks"] == []


def test_body_over_the_limit_is_413(api: Api, e2e_engine: Engine) -> None:
    before = _events_of(e2e_engine, _company(api))
    huge = json.dumps({"name": "big task", "type": "training", "comment": "x" * BODY_LIMIT})
    response = api.raw("tasks.create", huge)
    assert response.status_code == 413
    assert response.json()["meta"]["result_code"] == 413
    assert _events_of(e2e_engine, _company(api)) == before


def test_expected_version_gives_409(api: Api) -> None:
    task = _task(api)
    api.ok("tasks.edit", {"task": task, "comment": "one", "expected_version": 1})
    code, _sub, msg = api.error(
        "tasks.edit", {"task": task, "comment": "two", "expected_version": 1}
    )
    assert code == 409
    assert "expected version 1" in msg


def test_a_request_id_makes_a_write_idempotent(api: Api) -> None:
    task = _task(api)
    headers = {"X-Request-Id": "retry-me-1"}
    first = api.ok("tasks.enqueue", {"task": task, "queue_name": "q"}, headers=headers)
    again = api.ok("tasks.enqueue", {"task": task, "queue_name": "q"}, headers=headers)
    assert again == first
    assert len(api.ok("tasks.get_status_history", {"task": task})["history"]) == 1
    created = api.ok(
        "tasks.create",
        {"name": "once", "type": "training"},
        headers={"X-Request-Id": "create-once"},
    )
    assert (
        api.ok(
            "tasks.create",
            {"name": "once", "type": "training"},
            headers={"X-Request-Id": "create-once"},
        )
        == created
    )
    assert len(api.ok("tasks.get_all", {})["tasks"]) == 2
    code, _, _ = api.error("tasks.started", {"task": task}, headers=headers)
    assert code == 409


def test_a_concurrent_status_change_loses_with_121(api: Api, e2e_engine: Engine) -> None:
    """Hold the task's stream lock so two changes queue up behind it having both seen
    `created`; when it is released, one wins and the other is refused with 400/121."""
    task = _task(api)
    outcomes: list[tuple[int, int]] = []
    with e2e_engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(task)})

        def change(endpoint: str, body: dict[str, Any]) -> None:
            status, envelope = api.call(endpoint, body)
            outcomes.append((status, envelope["meta"]["result_subcode"]))

        threads = [
            threading.Thread(target=change, args=("tasks.started", {"task": task})),
            threading.Thread(
                target=change, args=("tasks.enqueue", {"task": task, "queue_name": "q"})
            ),
        ]
        for t in threads:
            t.start()
        threading.Event().wait(1.0)  # both are waiting for the lock now
        holder.rollback()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [(200, 0), (400, 121)]
    assert len(api.ok("tasks.get_status_history", {"task": task})["history"]) == 1


def test_openapi_describes_every_endpoint(server: str) -> None:
    with httpx.Client() as http:
        doc = http.get(f"{server}/openapi.json").json()
    from tasktrack.http.endpoints import ENDPOINTS

    assert set(doc["paths"]) == {f"/{name}" for name in ENDPOINTS}
    create = doc["paths"]["/tasks.create"]["post"]["requestBody"]["content"]["application/json"]
    ref = create["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][ref]
    assert {"name", "type"} <= set(schema["required"])
    assert "command" not in schema["properties"]


def test_many_answers_per_id(api: Api) -> None:
    a, b = _task(api), _task(api)
    api.ok("tasks.started", {"task": a})
    data = api.ok("tasks.stop_many", {"ids": [a, "0" * 32, b]})
    assert [s["id"] for s in data["succeeded"]] == [a]
    assert {f["id"]: f["error"]["codes"] for f in data["failed"]} == {
        "0" * 32: [400, 101],
        b: [400, 110],
    }


def test_archive_answers_a_count(api: Api) -> None:
    tasks = [_task(api) for _ in range(3)]
    assert api.ok("tasks.archive", {"tasks": tasks}) == {"archived": 3}
    assert all("archived" in t["system_tags"] for t in api.ok("tasks.get_all", {})["tasks"])
