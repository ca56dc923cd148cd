"""Every task answer is shaped as ClearML's schema says, field by field: each field's JSON type,
datetimes in ClearML's format, and the containers the SDK reads present even when empty
(issue 16, item 6: a missing `execution.artifacts` breaks @PipelineDecorator, a missing
`runtime` breaks clearml.Dataset, a `...Z` datetime the optimizer's reporting thread)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clearml_schema import load, mismatches, schema_file
from tests.e2e.http import Api

# What the SDK reads without checking that it is there, with the JSON type ClearML answers it
# with on a task that never set it.
EMPTY_CONTAINERS: dict[str, type] = {
    "tags": list,
    "system_tags": list,
    "execution": dict,
    "execution.artifacts": list,
    "models": dict,
    "models.input": list,
    "models.output": list,
    "hyperparams": dict,
    "configuration": dict,
    "runtime": dict,
    "container": dict,
    "last_metrics": dict,
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load(schema_file())


def _at(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc[part]
    return doc


def _rich_task(api: Api) -> str:
    """A task that has been through a whole life: every kind of field set."""
    project = api.ok("projects.create", {"name": "shapes"})["id"]
    task = str(
        api.ok(
            "tasks.create",
            {
                "name": "rich",
                "type": "training",
                "project": project,
                "comment": "all fields",
                "tags": ["t"],
                "script": {"repository": "r", "entry_point": "train.py"},
                "hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "1"}}},
                "configuration": {"cfg": {"name": "cfg", "value": "{}", "type": "json"}},
                "container": {"image": "python:3.11"},
                "runtime": {"gpus": 1},
            },
        )["id"]
    )
    api.ok(
        "tasks.add_or_update_artifacts",
        {
            "task": task,
            "artifacts": [
                {
                    "key": "data",
                    "type": "csv",
                    "uri": "file:///d.csv",
                    "content_size": 3,
                    "timestamp": 1700000000,
                    "type_data": {"preview": "a,b", "content_type": "text/csv"},
                    "display_data": [["rows", "1"]],
                }
            ],
        },
    )
    model = api.ok("models.create", {"name": "m", "uri": "file:///m.pt"})["id"]
    api.ok(
        "tasks.add_or_update_model",
        {"task": task, "name": "best", "model": model, "type": "output"},
    )
    api.ok("tasks.started", {"task": task})
    lines = [
        json.dumps(
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": "loss",
                "variant": "train",
                "iter": i,
                "value": 1.0 / (i + 1),
            }
        )
        for i in range(3)
    ]
    headers = {"Content-Type": "application/json-lines"}
    assert api.raw("events.add_batch", "\n".join(lines), headers=headers).status_code == 200
    api.ok("tasks.completed", {"task": task})
    return task


def _dereferenced(doc: dict[str, Any]) -> dict[str, Any]:
    """A `_ex` reader's task with its references (`project: {"id": ...}`, as ClearML's
    get_all_ex answers them) read back as the ids the schema describes."""
    out = dict(doc)
    for field in ("project", "parent"):
        if isinstance(out.get(field), dict):
            assert set(out[field]) == {"id"}, out[field]
            out[field] = out[field]["id"]
    # The company comes with its name, as ClearML's web UI reads it (an id alone is a
    # public example there).
    if isinstance(out.get("company"), dict):
        assert set(out["company"]) == {"id", "name"}, out["company"]
        out["company"] = out["company"]["id"]
    return out


def _answers(api: Api, task: str) -> dict[str, dict[str, Any]]:
    """The same task as each reader answers it."""
    return {
        "get_by_id": api.ok("tasks.get_by_id", {"task": task})["task"],
        "get_all": api.ok("tasks.get_all", {"id": [task]})["tasks"][0],
        "get_all_ex": _dereferenced(api.ok("tasks.get_all_ex", {"id": [task]})["tasks"][0]),
        "get_by_id_ex": _dereferenced(api.ok("tasks.get_by_id_ex", {"id": [task]})["tasks"][0]),
    }


def test_a_new_task_answers_every_container_the_sdk_reads(api: Api, schema: dict[str, Any]) -> None:
    task = str(api.ok("tasks.create", {"name": "bare", "type": "training"})["id"])
    for reader, doc in _answers(api, task).items():
        assert mismatches(schema, schema["task"], doc, reader) == []
        for path, kind in EMPTY_CONTAINERS.items():
            value = _at(doc, path)
            assert isinstance(value, kind), (reader, path, value)
            if path not in ("execution", "models"):  # these two hold the empty lists above
                assert not value, (reader, path, value)


def test_a_task_with_every_field_set_matches_the_schema(api: Api, schema: dict[str, Any]) -> None:
    task = _rich_task(api)
    answers = _answers(api, task)
    for reader, doc in answers.items():
        assert mismatches(schema, schema["task"], doc, reader) == []
    doc = answers["get_by_id"]
    # Each part of the schema was reached, not only the top level.
    assert doc["execution"]["artifacts"][0]["display_data"] == [["rows", "1"]]
    assert doc["models"]["output"][0]["name"] == "best"
    assert doc["hyperparams"]["Args"]["lr"]["value"] == "1"
    (variants,) = doc["last_metrics"].values()
    (loss,) = variants.values()
    assert loss["max_value_iteration"] == 0
    for field in ("created", "started", "completed", "status_changed", "last_update"):
        assert field in doc, field


def test_the_check_catches_a_wrong_shape(schema: dict[str, Any]) -> None:
    """The checker itself: a field of the wrong type, a datetime ending in Z, a bad enum value
    and a nested artifact with a wrong field are each reported."""
    bad = {
        "tags": "not a list",
        "created": "2024-05-01T10:00:00Z",
        "type": "astrology",
        "execution": {"artifacts": [{"key": "k", "type": "t", "content_size": "3"}]},
        "last_iteration": True,
    }
    found = mismatches(schema, schema["task"], bad, "task")
    assert len(found) == 5, found
    ok = {"created": "2024-05-01T10:00:00.5+00:00", "type": "training", "runtime": {"x": [1]}}
    assert mismatches(schema, schema["task"], ok, "task") == []
