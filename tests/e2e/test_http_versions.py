"""Clients of older API versions over HTTP, as ClearML's own suite drives them: legacy
parameter fields (stored as hyperparams and configuration, shown back before 2.9), tags before
2.3, nulls in create and clone, model labels as JSON integers, escaped keys in only_fields."""

from __future__ import annotations

from typing import Any

from tests.e2e.http import Api


def _create(api: Api, version: str = "", **fields: Any) -> str:
    prefix = f"v{version}/" if version else ""
    body = {"name": "legacy task", "type": "testing", **fields}
    return str(api.ok(f"{prefix}tasks.create", body)["id"])


def _task(api: Api, task: str, version: str = "") -> dict[str, Any]:
    prefix = f"v{version}/" if version else ""
    found: dict[str, Any] = api.ok(f"{prefix}tasks.get_by_id", {"task": task})["task"]
    return found


def test_legacy_parameters_are_stored_as_hyperparams_and_configuration(api: Api) -> None:
    task = _create(
        api,
        "2.9",
        execution={
            "parameters": {"lr": "0.1", "TF_DEFINE/steps": "10"},
            "model_desc": {"design": "hello"},
        },
        hyperparams={"General": {"x": {"section": "General", "name": "x", "value": "1"}}},
    )
    doc = _task(api, task)
    assert doc["hyperparams"]["Args"]["lr"] == {
        "section": "Args",
        "name": "lr",
        "value": "0.1",
        "type": "legacy",
    }
    assert doc["hyperparams"]["TF_DEFINE"]["steps"]["value"] == "10"
    assert doc["hyperparams"]["General"]["x"]["value"] == "1"
    assert doc["configuration"]["design"] == {"name": "design", "value": "hello", "type": "legacy"}
    assert "parameters" not in doc["execution"]
    assert "model_desc" not in doc["execution"]
    listed = api.ok("tasks.get_hyper_params", {"tasks": [task]})["params"][0]["hyperparams"]
    assert [(p["section"], p["name"]) for p in listed] == [
        ("Args", "lr"),
        ("General", "x"),
        ("TF_DEFINE", "steps"),
    ]


def test_old_clients_read_and_edit_parameters_where_they_left_them(api: Api) -> None:
    task = _create(
        api,
        execution={"parameters": {"old": "1"}, "model_desc": {"design": "hello"}},
        hyperparams={"General": {"keep": {"value": "k"}}},
    )
    for endpoint, body, key in (
        ("tasks.get_by_id", {"task": task}, "task"),
        ("tasks.get_all", {"id": [task]}, "tasks"),
        ("tasks.get_all_ex", {"id": [task]}, "tasks"),
    ):
        found = api.ok(f"v2.8/{endpoint}", body)[key]
        doc = found if isinstance(found, dict) else found[0]
        assert doc["execution"]["parameters"] == {"old": "1"}, endpoint
        assert doc["execution"]["model_desc"] == {"design": "hello"}, endpoint
    # Paths into the legacy fields lead where their items are kept, as ClearML rewrites them.
    body = {"id": [task], "only_fields": ["execution.parameters"]}
    (old,) = api.ok("v2.8/tasks.get_all_ex", body)["tasks"]
    assert old["execution"]["parameters"] == {"old": "1"}
    (new,) = api.ok("tasks.get_all_ex", body)["tasks"]
    assert sorted(new) == ["hyperparams", "id"]
    assert sorted(new["hyperparams"]) == ["Args"]
    api.ok(
        "v2.8/tasks.edit",
        {"task": task, "execution": {"parameters": {"new": "2"}, "model_desc": {"design": "by"}}},
    )
    old = _task(api, task, "2.8")
    assert old["execution"]["parameters"] == {"new": "2"}
    assert old["execution"]["model_desc"] == {"design": "by"}
    new = _task(api, task, "2.9")
    assert "parameters" not in new["execution"]
    assert sorted(new["hyperparams"]) == ["Args", "General"]
    assert sorted(new["hyperparams"]["Args"]) == ["new"]
    assert new["hyperparams"]["General"]["keep"]["value"] == "k"


def test_tags_before_2_3_hold_the_system_tags_too(api: Api) -> None:
    task = _create(api, "2.2", tags=["development", "test"])
    assert sorted(_task(api, task, "2.2")["tags"]) == ["development", "test"]
    new = _task(api, task)
    assert (new["tags"], new["system_tags"]) == (["test"], ["development"])
    excluded = api.ok("v2.2/tasks.get_all", {"id": [task], "tags": ["-development"]})["tasks"]
    assert excluded == []
    api.ok("v2.2/tasks.update", {"task": task, "tags": ["test"]})
    new = _task(api, task)
    assert (new["tags"], new["system_tags"]) == (["test"], [])


def test_create_edit_update_and_clone_read_a_null_as_not_given(api: Api) -> None:
    task = _create(api, system_tags=None, tags=None, comment=None, hyperparams=None)
    doc = _task(api, task)
    assert (doc["tags"], doc["system_tags"]) == ([], [])
    clone = api.ok("tasks.clone", {"task": task, "new_task_tags": None, "new_task_name": None})
    assert _task(api, clone["id"])["name"] == "legacy task"
    project = api.ok("projects.create", {"name": "kept project"})["id"]
    api.ok("tasks.edit", {"task": task, "project": project})
    api.ok("tasks.edit", {"task": task, "project": None, "tags": None, "comment": "c"})
    api.ok("tasks.update", {"task": task, "project": None, "system_tags": None})
    doc = _task(api, task)
    assert (doc["project"], doc["comment"], doc["tags"]) == (project, "c", [])
    # Elsewhere a null is still checked: tags of an update must be a list.
    code, subcode, _ = api.error("tasks.update_tags", {"ids": [task], "add_tags": None})
    assert (code, subcode) == (400, 12)


def test_model_labels_are_json_integers(api: Api) -> None:
    task = _create(api, execution={"model_labels": {"a": 2}})
    clone = api.ok(
        "tasks.clone",
        {"task": task, "execution_overrides": {"framework": "Caffe", "model_labels": {"t": 1.0}}},
    )["id"]
    assert _task(api, clone)["execution"]["model_labels"] == {"t": 1}
    code, subcode, msg = api.error(
        "tasks.clone", {"task": task, "execution_overrides": {"model_labels": {"t": 1.5}}}
    )
    assert (code, subcode) == (400, 12), msg


def test_only_fields_and_order_by_read_escaped_section_names(api: Api) -> None:
    project = api.ok("projects.create", {"name": "escaped keys"})["id"]
    low = _create(api, project=project, hyperparams={"sec.tion": {"p": {"value": "10"}}})
    high = _create(api, project=project, hyperparams={"sec.tion": {"p": {"value": "20"}}})
    _create(api, project=project, hyperparams={"other": {"p": {"value": "30"}}})
    found = api.ok(
        "tasks.get_all_ex",
        {
            "project": [project],
            "only_fields": ["hyperparams.sec%2Etion"],
            "order_by": ["-hyperparams.sec%2Etion.p"],
        },
    )["tasks"]
    assert [t["id"] for t in found[:2]] == [high, low]
    assert found[0]["hyperparams"] == {
        "sec.tion": {"p": {"section": "sec.tion", "name": "p", "value": "20"}}
    }
