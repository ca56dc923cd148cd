"""tasks.get_by_id_ex / get_all_ex with paths into a task's model lists, as ClearML's web UI's
artifacts tab asks them (`models.input.model.name`, `models.input.model.task.name`): each list
entry cut down to what was asked, its model joined as an object, as ClearML's server joins the
`model` reference of each entry."""

from __future__ import annotations

from typing import Any

from tests.e2e.http import Api

# What the UI's artifacts tab asks (its ARTIFACTS_ONLY_FIELDS, in part).
ASKED = [
    "name",
    "execution.artifacts",
    "models.output.name",
    "models.output.model.name",
    "models.output.model.uri",
    "models.input.name",
    "models.input.model.name",
    "models.input.model.framework",
    "models.input.model.task.id",
    "models.input.model.task.name",
    "models.input.model.task.project.id",
]


def _task(api: Api, name: str, **fields: Any) -> str:
    return str(api.ok("tasks.create", {"name": name, "type": "training", **fields})["id"])


def test_model_list_paths_join_each_entrys_model(api: Api) -> None:
    project = api.ok("projects.create", {"name": "model refs", "description": "d"})["id"]
    maker = _task(api, "made the backbone", project=project)
    backbone = api.ok(
        "models.create",
        {"name": "backbone", "uri": "s3://b/backbone.pt", "framework": "PyTorch", "task": maker},
    )["id"]
    task = _task(api, "uses models", project=project)
    weights = api.ok("models.create", {"name": "trained", "uri": "s3://b/w.pt", "task": task})["id"]
    api.ok(
        "tasks.add_or_update_model",
        {"task": task, "name": "in", "model": backbone, "type": "input"},
    )
    api.ok(
        "tasks.add_or_update_model",
        {"task": task, "name": "out", "model": weights, "type": "output"},
    )
    [got] = api.ok("tasks.get_by_id_ex", {"id": [task], "only_fields": ASKED})["tasks"]
    assert got["name"] == "uses models"
    assert got["models"] == {
        "input": [
            {
                "name": "in",
                "model": {
                    "id": backbone,
                    "name": "backbone",
                    "framework": "PyTorch",
                    "task": {"id": maker, "name": "made the backbone", "project": {"id": project}},
                },
            }
        ],
        "output": [
            {"name": "out", "model": {"id": weights, "name": "trained", "uri": "s3://b/w.pt"}}
        ],
    }
    # The model reference itself, as ClearML expands a reference asked whole: `{id}`.
    [plain] = api.ok(
        "tasks.get_all_ex",
        {"id": [task], "only_fields": ["models.output.name", "models.input.model"]},
    )["tasks"]
    assert plain["models"] == {"output": [{"name": "out"}], "input": [{"model": {"id": backbone}}]}
    # Asking for the whole lists still answers them as stored (ids).
    [whole] = api.ok("tasks.get_all_ex", {"id": [task], "only_fields": ["models"]})["tasks"]
    assert [e["model"] for e in whole["models"]["input"]] == [backbone]


def test_a_deleted_model_answers_as_its_id_and_no_models_as_empty_lists(api: Api) -> None:
    task = _task(api, "lost model")
    gone = api.ok("models.create", {"name": "gone", "uri": "s3://b/gone.pt"})["id"]
    api.ok(
        "tasks.add_or_update_model", {"task": task, "name": "in", "model": gone, "type": "input"}
    )
    api.ok("models.delete", {"model": gone, "force": True})
    bare = _task(api, "no models")
    found = api.ok("tasks.get_all_ex", {"id": [task, bare], "only_fields": ASKED})["tasks"]
    by_name = {t["name"]: t for t in found}
    # A forced delete leaves the entry pointing at `__DELETED__<id>` (as ClearML does): no
    # model joins it, so it answers as `{id}`, not as an error or a missing entry.
    assert by_name["lost model"]["models"]["input"] == [
        {"name": "in", "model": {"id": f"__DELETED__{gone}"}}
    ]
    assert by_name["no models"]["models"] == {"input": [], "output": []}
