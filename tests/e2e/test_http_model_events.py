"""Events reported against a model over HTTP (`model_event: true`), read back with
`model_events: true`, and projects.delete with delete_contents (issue 18)."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.http import Api


def _send(api: Api, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    body = "\n".join(json.dumps(e) for e in events)
    response = api.raw("events.add_batch", body, headers={"Content-Type": "application/json-lines"})
    answer: dict[str, Any] = response.json()
    return response.status_code, answer


def _model(api: Api, **more: Any) -> str:
    body = {"name": "model events", "uri": "file:///m", "ready": False, **more}
    return str(api.ok("models.create", body)["id"])


def test_model_scalars_and_plots_are_stored_and_read_with_model_events(api: Api) -> None:
    model = _model(api)
    scalars = [
        {
            "task": model,
            "model_event": True,
            "type": "training_stats_scalar",
            "metric": "loss",
            "variant": "train",
            "value": float(10 - it),
            "iter": it,
            "x_axis_label": "epochs",
        }
        for it in range(3)
    ]
    plot = {
        "task": model,
        "model_event": True,
        "type": "plot",
        "iter": 2,
        "metric": "roc",
        "variant": "v",
        "plot_str": "{}",
    }
    status, answer = _send(api, [*scalars, plot])
    assert status == 200, answer
    assert answer["data"]["added"] == 4
    series = api.ok("events.scalar_metrics_iter_histogram", {"task": model, "model_events": True})
    assert series["loss"]["train"]["x"] == [0, 1, 2]
    assert series["loss"]["train"]["y"] == [10.0, 9.0, 8.0]
    assert series["loss"]["train"]["x_axis_label"] == "epochs"
    found = api.ok(
        "models.get_all_ex", {"id": [model], "only_fields": ["last_metrics", "last_iteration"]}
    )
    doc = found["models"][0]
    assert doc["last_iteration"] == 2
    (metric,) = [e for m in doc["last_metrics"].values() for e in m.values()]
    assert (metric["value"], metric["min_value"], metric["max_value"]) == (8.0, 8.0, 10.0)
    plots = api.ok("events.get_task_plots", {"task": model, "model_events": True})["plots"]
    assert [p["metric"] for p in plots] == ["roc"]
    # Without model_events the id is not a task's.
    code, subcode, _ = api.error("events.scalar_metrics_iter_histogram", {"task": model})
    assert (code, subcode) == (400, 101)


def test_a_model_takes_no_log_events(api: Api) -> None:
    model = _model(api)
    log = {"task": model, "model_event": True, "type": "log", "msg": "hi", "iter": 0}
    status, answer = _send(api, [log])
    assert (status, answer["meta"]["result_subcode"]) == (400, 131)


def test_project_delete_with_contents_answers_the_urls(api: Api) -> None:
    project = api.ok("projects.create", {"name": "doomed contents", "description": ""})["id"]
    task = api.ok("tasks.create", {"name": "trainer", "type": "training", "project": project})["id"]
    model = _model(api, project=project)
    api.ok("models.edit", {"model": model, "task": task})
    answer = api.ok("projects.delete", {"project": project, "force": True, "delete_contents": True})
    assert (answer["deleted_tasks"], answer["deleted_models"]) == (1, 1)
    assert answer["urls"] == {"model_urls": ["file:///m"], "event_urls": [], "artifact_urls": []}
    assert api.error("tasks.get_by_id", {"task": task})[:2] == (400, 101)
