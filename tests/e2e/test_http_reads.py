"""Reads over HTTP as a client drives them: get_all answers shaped by only_fields, and
get_by_id with as_of (a stream version or an ISO time) answering the task as it was."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.e2e.http import Api

SCALAR = "training_stats_scalar"


def _task(api: Api, name: str, **fields: Any) -> str:
    return str(api.ok("tasks.create", {"name": name, "type": "training", **fields})["id"])


def _get(api: Api, task: str, **body: Any) -> dict[str, Any]:
    got: dict[str, Any] = api.ok("tasks.get_by_id", {"task": task, **body})["task"]
    return got


def _between() -> str:
    """A moment strictly after every write so far and before the next one, as ISO 8601."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment.isoformat()


def test_get_all_only_fields_answers_exactly_the_paths_asked_for(api: Api) -> None:
    queued = _task(api, "queued one", tags=["b", "a"], comment="hello")
    api.ok("tasks.enqueue", {"task": queued, "queue_name": "gpu"})
    lines = [
        json.dumps({"task": queued, "type": SCALAR, "metric": "loss", "variant": "train", **p})
        for p in ({"iter": 0, "value": 3.0}, {"iter": 1, "value": 1.0})
    ]
    content_type = {"Content-Type": "application/json-lines"}
    assert api.raw("events.add_batch", "\n".join(lines), headers=content_type).status_code == 200
    idle = _task(api, "idle one")
    full = {t: _get(api, t) for t in (queued, idle)}
    queue = full[queued]["execution"]["queue"]
    (m_hash, variants), *_ = full[queued]["last_metrics"].items()
    (v_hash, loss), *_ = variants.items()
    assert loss["max_value"] == 3.0

    def tasks(**body: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api.ok("tasks.get_all", body)["tasks"]
        return found

    paths = ["name", "tags", "execution.queue", "last_metrics"]
    assert tasks(only_fields=paths, order_by=["-name"]) == [
        {
            "id": queued,
            "name": "queued one",
            "tags": ["a", "b"],
            "execution": {"queue": queue},
            "last_metrics": {m_hash: {v_hash: loss}},
        },
        # no queue: execution stays, empty (as MongoDB projects it; clearml.Dataset relies on it)
        {"id": idle, "name": "idle one", "tags": [], "execution": {}, "last_metrics": {}},
    ]
    # A nested path inside last_metrics keeps that leaf only; id stays, even when excluded.
    leaf = f"last_metrics.{m_hash}.{v_hash}.max_value"
    assert tasks(only_fields=[leaf, "-id"], id=[queued]) == [
        {"id": queued, "last_metrics": {m_hash: {v_hash: {"max_value": 3.0}}}}
    ]
    # Exclusions alone: everything else, whole; a nested exclusion cuts inside its branch.
    [shaped] = tasks(only_fields=["-execution.queue", "-last_metrics", "-comment"], id=[queued])
    assert set(shaped) == set(full[queued]) - {"last_metrics", "comment"}
    assert "queue" not in shaped["execution"]
    assert shaped["execution"] == {
        k: v for k, v in full[queued]["execution"].items() if k != "queue"
    }
    assert {k: v for k, v in shaped.items() if k != "execution"} == {
        k: v for k, v in full[queued].items() if k not in ("execution", "last_metrics", "comment")
    }
    # A path no task has: the id alone. Without only_fields: the whole task, as get_by_id.
    assert tasks(only_fields=["no.such.path"], id=[idle]) == [{"id": idle}]
    assert tasks(id=[queued]) == [full[queued]]


def test_get_by_id_as_of_answers_the_task_as_it_was(api: Api) -> None:
    task = _task(api, "before edit")
    created = _get(api, task)
    assert created["stream_version"] == 1
    at_created = _between()
    api.ok("tasks.edit", {"task": task, "name": "after edit"})
    api.ok("tasks.enqueue", {"task": task, "queue_name": "cpu"})
    queued = _get(api, task)
    at_queued = _between()
    api.ok("tasks.started", {"task": task})
    now = _get(api, task)
    assert (now["name"], now["status"]) == ("after edit", "in_progress")

    assert _get(api, task, as_of=1) == created
    assert _get(api, task, as_of="1") == created
    assert _get(api, task, as_of=at_created) == created
    assert (created["name"], created["status"]) == ("before edit", "created")
    assert _get(api, task, as_of=queued["stream_version"]) == queued
    assert _get(api, task, as_of=at_queued) == queued
    assert (queued["name"], queued["status"]) == ("after edit", "queued")
    assert "started" not in queued
    assert _get(api, task, as_of=now["stream_version"]) == now
    assert _get(api, task, as_of=datetime.now(UTC).isoformat()) == now
    assert api.error("tasks.get_by_id", {"task": task, "as_of": "2000-01-01T00:00:00Z"})[:2] == (
        400,
        101,
    )


def test_get_types_answers_the_types_in_use_of_the_callers_company(
    new_caller: Callable[..., Api],
) -> None:
    api, stranger = new_caller(), new_caller()
    _task(api, "typed a", type="training", project="p1")
    _task(api, "typed b", type="data_processing", project="p2")
    assert api.ok("tasks.get_types", {})["types"] == ["data_processing", "training"]
    assert api.ok("tasks.get_types", {"projects": ["p1"]})["types"] == ["training"]
    assert api.ok("v2.13/tasks.get_types", {})["types"] == ["data_processing", "training"]
    assert stranger.ok("tasks.get_types", {})["types"] == []
    status, _ = api.call("tasks.get_types", {"projects": "p1"})
    assert status == 400
