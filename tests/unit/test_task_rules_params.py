"""Hyper parameters, configuration, artifacts and models (SEMANTICS §3), decided then folded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import pytest

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.evolve import evolve
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import Artifact, ArtifactId, ConfigItem, ModelType, ParamItem
from tests.unit.domain_builders import (
    STATUSES,
    TASK_ID,
    artifact_ids,
    full_task,
    model_names,
    new_task,
    refused,
    run,
    task_in,
)

PARAMS = {
    "Args": {"lr": ParamItem(value="0.1"), "bs": ParamItem(value="32")},
    "Extra": {"x": ParamItem(value="1")},
    "properties": {"p": ParamItem(value="old")},
}
CONFIG = {"General": ConfigItem(value="{}"), "Other": ConfigItem(value="[]")}


def with_params(status: str = "created") -> TaskState:
    return task_in(status, hyperparams=PARAMS, configuration=CONFIG)


def values(state: TaskState) -> dict[str, dict[str, str]]:
    """section -> name -> value of the task's hyper parameters."""
    params = state.hyperparams or {}
    return {s: {n: str(i.value) for n, i in items.items()} for s, items in params.items()}


def config_values(state: TaskState) -> dict[str, str]:
    return {n: str(i.value) for n, i in (state.configuration or {}).items()}


def item(section: str, name: str, value: str) -> ParamItem:
    return ParamItem(section=section, name=name, value=value)


MakeParams = Callable[[bool], cmd.Command]
PARAM_COMMANDS: dict[str, MakeParams] = {
    "edit_hyper_params": lambda f: cmd.EditHyperParams(
        task=TASK_ID, hyperparams=[item("Args", "lr", "0.2")], force=f
    ),
    "delete_hyper_params": lambda f: cmd.DeleteHyperParams(
        task=TASK_ID, hyperparams=[cmd.ParamKey(section="Args", name="lr")], force=f
    ),
    "edit_configuration": lambda f: cmd.EditConfiguration(
        task=TASK_ID, configuration=[ConfigItem(name="General", value="{1}")], force=f
    ),
    "delete_configuration": lambda f: cmd.DeleteConfiguration(
        task=TASK_ID, configuration=["General"], force=f
    ),
}


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", list(PARAM_COMMANDS))
def test_params_edit_needs_created_or_in_progress_with_force(
    command: str, status: str, force: bool
) -> None:
    state = with_params(status)
    order = PARAM_COMMANDS[command](force)
    if status == "created" or (force and status == "in_progress"):
        events, after = run(state, order)
        assert events
        assert (values(after), config_values(after)) != (values(state), config_values(state))
    else:
        refused(state, order, 400, 110)


@pytest.mark.parametrize("status", STATUSES)
def test_properties_only_edits_skip_the_status_check(status: str) -> None:
    edit = cmd.EditHyperParams(task=TASK_ID, hyperparams=[item("properties", "p", "new")])
    _, after = run(with_params(status), edit)
    assert values(after)["properties"] == {"p": "new"}
    delete = cmd.DeleteHyperParams(
        task=TASK_ID, hyperparams=[cmd.ParamKey(section="properties", name="p")]
    )
    _, after = run(with_params(status), delete)
    assert "p" not in values(after).get("properties", {})


def test_the_properties_section_in_any_case_is_properties() -> None:
    """As ClearML: `Properties` is the user properties' section (any status, stored lower)."""
    edit = cmd.EditHyperParams(task=TASK_ID, hyperparams=[item("Properties", "q", "1")])
    _, after = run(with_params("completed"), edit)
    assert values(after)["properties"] == {"p": "old", "q": "1"}
    assert after.hyperparams is not None
    assert after.hyperparams["properties"]["q"].section == "properties"
    assert "Properties" not in values(after)
    delete = cmd.DeleteHyperParams(task=TASK_ID, hyperparams=[cmd.ParamKey(section="PROPERTIES")])
    _, after = run(with_params("completed"), delete)
    assert "properties" not in values(after)


def test_an_edit_touching_properties_and_another_section_is_checked() -> None:
    edit = cmd.EditHyperParams(
        task=TASK_ID, hyperparams=[item("properties", "p", "new"), item("Args", "lr", "0.3")]
    )
    refused(with_params("completed"), edit, 400, 110)


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ("none", {"Args": {"lr": "0.5", "bs": "32", "new": "n"}, "Extra": {"x": "1"}}),
        ("section", {"Args": {"lr": "0.5", "new": "n"}, "Extra": {"x": "1"}}),
        ("all", {"Args": {"lr": "0.5", "new": "n"}}),
    ],
)
def test_replace_hyperparams(
    replace: Literal["none", "section", "all"], expected: dict[str, dict[str, str]]
) -> None:
    state = task_in("created", hyperparams={k: v for k, v in PARAMS.items() if k != "properties"})
    edit = cmd.EditHyperParams(
        task=TASK_ID,
        hyperparams=[item("Args", "lr", "0.5"), item("Args", "new", "n")],
        replace_hyperparams=replace,
    )
    _, after = run(state, edit)
    assert values(after) == expected


def test_delete_a_whole_section_and_one_name() -> None:
    delete = cmd.DeleteHyperParams(
        task=TASK_ID,
        hyperparams=[cmd.ParamKey(section="Extra"), cmd.ParamKey(section="Args", name="lr")],
    )
    _, after = run(with_params(), delete)
    assert values(after) == {"Args": {"bs": "32"}, "properties": {"p": "old"}}


def test_deleting_a_section_whole_and_by_name_in_one_call_is_400_15() -> None:
    delete = cmd.DeleteHyperParams(
        task=TASK_ID,
        hyperparams=[cmd.ParamKey(section="Args"), cmd.ParamKey(section="Args", name="lr")],
    )
    refused(with_params(), delete, 400, 15)


ODD_SECTION = "a.b$c/d"
ODD_NAME = "x.y$z/w"


def test_section_and_param_names_with_dots_dollars_slashes_round_trip() -> None:
    created = new_task(hyperparams={ODD_SECTION: {ODD_NAME: ParamItem(value="1")}})
    assert values(created) == {ODD_SECTION: {ODD_NAME: "1"}}
    edit = cmd.EditHyperParams(task=TASK_ID, hyperparams=[item(ODD_SECTION, "$n.2/", "2")])
    _, after = run(created, edit)
    assert values(after) == {ODD_SECTION: {ODD_NAME: "1", "$n.2/": "2"}}
    delete = cmd.DeleteHyperParams(
        task=TASK_ID, hyperparams=[cmd.ParamKey(section=ODD_SECTION, name=ODD_NAME)]
    )
    _, after = run(after, delete)
    assert values(after) == {ODD_SECTION: {"$n.2/": "2"}}


def test_configuration_names_with_dots_dollars_slashes_round_trip() -> None:
    edit = cmd.EditConfiguration(task=TASK_ID, configuration=[ConfigItem(name=ODD_NAME, value="v")])
    _, after = run(new_task(), edit)
    assert config_values(after) == {ODD_NAME: "v"}


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (False, {"General": "new", "Other": "[]", "Third": "3"}),
        (True, {"General": "new", "Third": "3"}),
    ],
)
def test_edit_configuration_merges_or_replaces(replace: bool, expected: dict[str, str]) -> None:
    edit = cmd.EditConfiguration(
        task=TASK_ID,
        configuration=[
            ConfigItem(name="General", value="new"),
            ConfigItem(name="Third", value="3"),
        ],
        replace_configuration=replace,
    )
    _, after = run(with_params(), edit)
    assert config_values(after) == expected


def test_delete_configuration() -> None:
    delete = cmd.DeleteConfiguration(task=TASK_ID, configuration=["General"])
    _, after = run(with_params(), delete)
    assert config_values(after) == {"Other": "[]"}


# --- artifacts --------------------------------------------------------------------------------


def uris(state: TaskState) -> dict[tuple[str, str], str]:
    execution = state.execution
    artifacts = [] if execution is None or not execution.artifacts else execution.artifacts
    return {(a.key, a.mode): str(a.uri) for a in artifacts}


def test_artifact_identity_is_key_and_mode_and_mode_defaults_to_output() -> None:
    add = cmd.AddOrUpdateArtifacts(
        task=TASK_ID,
        artifacts=[
            Artifact(key="k", type="csv", mode="input", uri="in-1"),
            Artifact(key="k", type="csv", uri="out-1"),
        ],
    )
    _, state = run(new_task(), add)
    assert uris(state) == {("k", "input"): "in-1", ("k", "output"): "out-1"}
    update = cmd.AddOrUpdateArtifacts(
        task=TASK_ID, artifacts=[Artifact(key="k", type="csv", uri="out-2")]
    )
    _, state = run(state, update)
    assert uris(state) == {("k", "input"): "in-1", ("k", "output"): "out-2"}
    delete = cmd.DeleteArtifacts(task=TASK_ID, artifacts=[ArtifactId(key="k")])
    _, state = run(state, delete)
    assert artifact_ids(state) == [("k", "input")]


ARTIFACT_COMMANDS: dict[str, MakeParams] = {
    "add_or_update_artifacts": lambda f: cmd.AddOrUpdateArtifacts(
        task=TASK_ID, artifacts=[Artifact(key="new", type="csv")], force=f
    ),
    "delete_artifacts": lambda f: cmd.DeleteArtifacts(
        task=TASK_ID, artifacts=[ArtifactId(key="out-art")], force=f
    ),
}


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", list(ARTIFACT_COMMANDS))
def test_artifacts_change_only_in_created_and_in_progress_whatever_force(
    command: str, status: str, force: bool
) -> None:
    state = full_task(status)
    order = ARTIFACT_COMMANDS[command](force)
    if status in ("created", "in_progress"):
        _, after = run(state, order)
        assert artifact_ids(after) != artifact_ids(state)
    else:
        refused(state, order, 400, 110)


# --- models -----------------------------------------------------------------------------------

MODEL_COMMANDS: dict[str, cmd.Command] = {
    "add_or_update_model": cmd.AddOrUpdateModel(task=TASK_ID, name="x", model="m", type="output"),
    "delete_models": cmd.DeleteModels(
        task=TASK_ID, models=[cmd.ModelKey(name="final", type="output")]
    ),
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", list(MODEL_COMMANDS))
def test_models_change_only_in_created_and_in_progress(command: str, status: str) -> None:
    state = full_task(status)
    if status in ("created", "in_progress"):
        _, after = run(state, MODEL_COMMANDS[command])
        assert model_names(after, "output") != model_names(state, "output")
    else:
        refused(state, MODEL_COMMANDS[command], 400, 110)


@pytest.mark.parametrize("kind", ["input", "output"])
def test_add_or_update_model_replaces_the_entry_of_that_name(kind: ModelType) -> None:
    state = full_task("in_progress")
    name = "base" if kind == "input" else "final"
    upsert = cmd.AddOrUpdateModel(task=TASK_ID, name=name, model="m-new", type=kind)
    _, after = run(state, upsert)
    assert model_names(after, kind) == {name: "m-new"}
    other = "output" if kind == "input" else "input"
    assert model_names(after, other) == model_names(state, other)


def test_delete_models() -> None:
    delete = cmd.DeleteModels(task=TASK_ID, models=[cmd.ModelKey(name="base", type="input")])
    _, after = run(full_task("created"), delete)
    assert model_names(after, "input") == {}
    assert model_names(after, "output") == {"final": "m-out"}


def test_model_iteration_raises_last_iteration_but_never_lowers_it() -> None:
    state = task_in("in_progress", last_iteration=10)
    up = cmd.AddOrUpdateModel(task=TASK_ID, name="a", model="m1", type="output", iteration=20)
    _, state = run(state, up)
    assert state.last_iteration == 20
    down = cmd.AddOrUpdateModel(task=TASK_ID, name="a", model="m2", type="output", iteration=5)
    _, state = run(state, down)
    assert state.last_iteration == 20
    assert model_names(state, "output") == {"a": "m2"}
    none = cmd.AddOrUpdateModel(task=TASK_ID, name="b", model="m3", type="output")
    _, state = run(state, none)
    assert state.last_iteration == 20


def _entries(state: TaskState, kind: ModelType) -> list[tuple[str, str]]:
    models = state.models
    items = getattr(models, kind) if models is not None else []
    return [(m.name, m.model) for m in items or []]


@pytest.mark.parametrize("kind", ["input", "output"])
def test_add_or_update_model_keeps_the_entry_in_its_place(kind: ModelType) -> None:
    """ClearML answers the entries in the order they were set: an update stays in place, a
    new name goes last."""
    state = new_task()
    for name in ("first", "second"):
        add = cmd.AddOrUpdateModel(task=TASK_ID, name=name, model=f"m-{name}", type=kind)
        _, state = run(state, add)
    _, state = run(state, cmd.AddOrUpdateModel(task=TASK_ID, name="first", model="x", type=kind))
    assert _entries(state, kind) == [("first", "x"), ("second", "m-second")]
    _, state = run(state, cmd.AddOrUpdateModel(task=TASK_ID, name="third", model="y", type=kind))
    assert [n for n, _ in _entries(state, kind)] == ["first", "second", "third"]


def test_an_upsert_logged_before_in_place_existed_still_moves_the_entry_last() -> None:
    """Replay of an old log folds as it did then (the field's default keeps its meaning)."""
    state = new_task()
    for name in ("a", "b"):
        add = cmd.AddOrUpdateModel(task=TASK_ID, name=name, model=name, type="input")
        _, state = run(state, add)
    old = ev.ModelUpserted(at=datetime.now(UTC), by="u", name="a", model="a2", model_type="input")
    assert _entries(evolve(state, old), "input") == [("b", "b"), ("a", "a2")]
