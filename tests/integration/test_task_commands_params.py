"""Hyper parameters, configuration, artifacts and models end to end (SEMANTICS §3)."""

from __future__ import annotations

import pytest
from msgspec import UNSET
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.queries.views import TaskView
from tests.integration.task_commands_support import (
    expect_error,
    new_task,
    snapshot,
    task_in,
)


def _params(view: TaskView) -> dict[str, dict[str, str]]:
    """section -> name -> value."""
    return {
        section: {name: str(item.value) for name, item in items.items()}
        for section, items in (view.hyperparams or {}).items()
    }


def _configs(view: TaskView) -> dict[str, str]:
    return {name: str(item.value) for name, item in (view.configuration or {}).items()}


def _artifacts(view: TaskView) -> list[tuple[str, str, str]]:
    if view.execution is None or view.execution.artifacts is UNSET:
        return []
    return [(a.key, a.mode, a.type) for a in view.execution.artifacts]


def _models(view: TaskView, kind: str) -> list[tuple[str, str]]:
    if view.models is None:
        return []
    items = getattr(view.models, kind)
    return [] if items is UNSET else [(m.name, m.model) for m in items]


# --- hyper parameters ------------------------------------------------------------------------


def test_hyper_params_edit_merge_replace_and_delete(client: Client) -> None:
    t = new_task(client)
    odd_section, odd_name = "sec.tion$/x", "na.me$/y"
    result = client.edit_hyper_params(
        task=t,
        hyperparams=[
            {"section": odd_section, "name": odd_name, "value": "v1", "type": "str"},
            {"section": "Args", "name": "lr", "value": "0.1"},
            {"section": "Args", "name": "epochs", "value": "3"},
        ],
    )
    assert result["updated"] == 1
    task = client.get_by_id(t)
    assert _params(task) == {
        odd_section: {odd_name: "v1"},
        "Args": {"lr": "0.1", "epochs": "3"},
    }
    assert task.hyperparams is not None
    item = task.hyperparams[odd_section][odd_name]
    assert (item.section, item.name, item.type) == (odd_section, odd_name, "str")

    client.edit_hyper_params(task=t, hyperparams=[{"section": "Args", "name": "lr", "value": "1"}])
    assert _params(client.get_by_id(t))["Args"] == {"lr": "1", "epochs": "3"}

    client.edit_hyper_params(
        task=t,
        hyperparams=[{"section": "Args", "name": "batch", "value": "8"}],
        replace_hyperparams="section",
    )
    assert _params(client.get_by_id(t)) == {odd_section: {odd_name: "v1"}, "Args": {"batch": "8"}}

    client.edit_hyper_params(
        task=t,
        hyperparams=[{"section": "New", "name": "n", "value": "x"}],
        replace_hyperparams="all",
    )
    assert _params(client.get_by_id(t)) == {"New": {"n": "x"}}

    client.edit_hyper_params(
        task=t,
        hyperparams=[
            {"section": "New", "name": "m", "value": "y"},
            {"section": "Gone", "name": "g", "value": "z"},
        ],
    )
    deleted = client.delete_hyper_params(task=t, hyperparams=[{"section": "New", "name": "n"}])
    assert deleted["deleted"] == 1
    assert _params(client.get_by_id(t)) == {"New": {"m": "y"}, "Gone": {"g": "z"}}
    client.delete_hyper_params(task=t, hyperparams=[{"section": "Gone"}])
    assert _params(client.get_by_id(t)) == {"New": {"m": "y"}}


def test_hyper_params_delete_of_a_section_whole_and_by_name_is_15(
    client: Client, engine: Engine
) -> None:
    t = new_task(client, hyperparams={"S": {"a": {"section": "S", "name": "a", "value": "1"}}})
    before = snapshot(client, engine, [t])
    expect_error(
        (400, 15),
        client.delete_hyper_params,
        task=t,
        hyperparams=[{"section": "S"}, {"section": "S", "name": "a"}],
    )
    assert snapshot(client, engine, [t]) == before


def test_hyper_params_status_rule(client: Client) -> None:
    item = [{"section": "Args", "name": "lr", "value": "0.5"}]
    running = task_in(client, "in_progress")
    expect_error((400, 110), client.edit_hyper_params, task=running, hyperparams=item)
    expect_error(
        (400, 110), client.delete_hyper_params, task=running, hyperparams=[{"section": "Args"}]
    )
    client.edit_hyper_params(task=running, hyperparams=item, force=True)
    assert _params(client.get_by_id(running)) == {"Args": {"lr": "0.5"}}

    stopped = task_in(client, "stopped")
    expect_error((400, 110), client.edit_hyper_params, task=stopped, hyperparams=item, force=True)
    props = [{"section": "properties", "name": "owner", "value": "me"}]
    client.edit_hyper_params(task=stopped, hyperparams=props)
    assert _params(client.get_by_id(stopped)) == {"properties": {"owner": "me"}}
    client.delete_hyper_params(task=stopped, hyperparams=[{"section": "properties"}])
    assert _params(client.get_by_id(stopped)) == {}


# --- configuration ---------------------------------------------------------------------------


def test_legacy_parameter_fields_are_kept_as_hyperparams_and_configuration(
    client: Client,
) -> None:
    """execution.parameters and model_desc (ClearML clients before API 2.9) are stored as
    items of type legacy, through the Python API too; an edit replaces them, the rest stays."""
    t = new_task(
        client,
        execution={"parameters": {"lr": 0.1, "TF_DEFINE/steps": "10"}, "model_desc": {"d": "x"}},
        hyperparams={"General": {"keep": {"value": "k"}}},
        system_tags=None,  # a null on create is "not given", as ClearML reads it
    )
    (listed,) = client.get_hyper_params([t])
    assert [(p.section, p.name, p.value, p.type) for p in listed.hyperparams] == [
        ("Args", "lr", "0.1", "legacy"),
        ("General", "keep", "k", UNSET),
        ("TF_DEFINE", "steps", "10", "legacy"),
    ]
    view = client.get_by_id(t)
    assert _configs(view) == {"d": "x"}
    assert view.execution is None or view.execution.parameters is UNSET
    assert view.system_tags == []
    client.edit(task=t, execution={"parameters": {"new": "1"}, "model_desc": {}})
    view = client.get_by_id(t)
    assert _params(view) == {"General": {"keep": "k"}, "Args": {"new": "1"}}
    assert _configs(view) == {}


def test_configuration_edit_replace_and_delete(client: Client) -> None:
    t = new_task(client)
    result = client.edit_configuration(
        task=t,
        configuration=[
            {"name": "main.cfg", "value": "a: 1", "type": "yaml"},
            {"name": "extra", "value": "b"},
        ],
    )
    assert result["updated"] == 1
    task = client.get_by_id(t)
    assert _configs(task) == {"main.cfg": "a: 1", "extra": "b"}
    assert task.configuration is not None
    assert task.configuration["main.cfg"].type == "yaml"

    client.edit_configuration(task=t, configuration=[{"name": "extra", "value": "c"}])
    assert _configs(client.get_by_id(t)) == {"main.cfg": "a: 1", "extra": "c"}

    deleted = client.delete_configuration(task=t, configuration=["extra"])
    assert deleted["deleted"] == 1
    assert _configs(client.get_by_id(t)) == {"main.cfg": "a: 1"}

    client.edit_configuration(
        task=t, configuration=[{"name": "only", "value": "z"}], replace_configuration=True
    )
    assert _configs(client.get_by_id(t)) == {"only": "z"}


def test_configuration_status_rule(client: Client) -> None:
    item = [{"name": "c", "value": "1"}]
    running = task_in(client, "in_progress")
    expect_error((400, 110), client.edit_configuration, task=running, configuration=item)
    expect_error((400, 110), client.delete_configuration, task=running, configuration=["c"])
    client.edit_configuration(task=running, configuration=item, force=True)
    assert _configs(client.get_by_id(running)) == {"c": "1"}
    client.delete_configuration(task=running, configuration=["c"], force=True)
    assert _configs(client.get_by_id(running)) == {}

    done = task_in(client, "completed")
    expect_error((400, 110), client.edit_configuration, task=done, configuration=item, force=True)


# --- artifacts -------------------------------------------------------------------------------


def test_artifacts_are_identified_by_key_and_mode(client: Client) -> None:
    t = new_task(client)
    one = client.add_or_update_artifacts(task=t, artifacts=[{"key": "model", "type": "pkl"}])
    assert one["updated"] == 1
    client.add_or_update_artifacts(
        task=t,
        artifacts=[
            {"key": "data", "type": "csv", "mode": "input"},
            {"key": "data", "type": "parquet", "mode": "output"},
        ],
    )
    assert _artifacts(client.get_by_id(t)) == [
        ("data", "input", "csv"),
        ("data", "output", "parquet"),
        ("model", "output", "pkl"),
    ]
    client.add_or_update_artifacts(
        task=t, artifacts=[{"key": "model", "type": "onnx", "uri": "s3://b/m"}]
    )
    task = client.get_by_id(t)
    assert _artifacts(task) == [
        ("data", "input", "csv"),
        ("data", "output", "parquet"),
        ("model", "output", "onnx"),
    ]
    assert task.execution is not None
    assert task.execution.artifacts is not UNSET
    assert task.execution.artifacts[-1].uri == "s3://b/m"

    gone = client.delete_artifacts(task=t, artifacts=[{"key": "data"}])
    assert gone["deleted"] == 1
    assert _artifacts(client.get_by_id(t)) == [
        ("data", "input", "csv"),
        ("model", "output", "onnx"),
    ]


@pytest.mark.parametrize("status", ["queued", "stopped", "completed", "published"])
def test_artifacts_change_only_in_created_or_in_progress_whatever_force(
    client: Client, status: str
) -> None:
    t = task_in(client, status)
    art = [{"key": "k", "type": "t"}]
    expect_error((400, 110), client.add_or_update_artifacts, task=t, artifacts=art, force=True)
    expect_error((400, 110), client.delete_artifacts, task=t, artifacts=[{"key": "k"}], force=True)


def test_artifacts_change_while_in_progress(client: Client) -> None:
    t = task_in(client, "in_progress")
    client.add_or_update_artifacts(task=t, artifacts=[{"key": "k", "type": "t"}])
    assert _artifacts(client.get_by_id(t)) == [("k", "output", "t")]


# --- models ----------------------------------------------------------------------------------


def test_models_add_replace_and_delete(client: Client) -> None:
    t = task_in(client, "in_progress")
    assert client.add_or_update_model(task=t, name="base", model="m-1", type="input") == {
        "updated": 1
    }
    client.add_or_update_model(task=t, name="out", model="m-2", type="output", iteration=10)
    client.add_or_update_model(task=t, name="out", model="m-3", type="output", iteration=4)
    task = client.get_by_id(t)
    assert _models(task, "input") == [("base", "m-1")]
    assert _models(task, "output") == [("out", "m-3")]
    assert task.last_iteration == 10

    client.delete_models(task=t, models=[{"name": "out", "type": "output"}])
    task = client.get_by_id(t)
    assert _models(task, "output") == []
    assert _models(task, "input") == [("base", "m-1")]


@pytest.mark.parametrize("status", ["stopped", "completed", "failed"])
def test_models_change_only_in_created_or_in_progress(client: Client, status: str) -> None:
    t = task_in(client, status, models={"input": [{"name": "base", "model": "m-1"}]})
    expect_error((400, 110), client.add_or_update_model, task=t, name="x", model="m", type="output")
    expect_error(
        (400, 110), client.delete_models, task=t, models=[{"name": "base", "type": "input"}]
    )
    assert _models(client.get_by_id(t), "input") == [("base", "m-1")]
