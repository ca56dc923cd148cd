"""Legacy parameter fields (execution.parameters, execution.model_desc) become hyperparams and
configuration items of type legacy, as ClearML stores them; model labels are JSON integers."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tasktrack.domain import commands as cmd
from tasktrack.domain import editing, legacy
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.evolve import fold
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import ConfigItem, ParamItem
from tests.unit.domain_builders import TASK_ID, ctx, new_task, refused, run


def created(**fields: Any) -> TaskState:
    """A task made by a create request given as JSON-like fields (as HTTP decodes them)."""
    command = msgspec.convert({"name": "a task", "type": "training", **fields}, cmd.CreateTask)
    return new_task(**{f: getattr(command, f) for f in fields})


def items(state: TaskState) -> dict[tuple[str, str], tuple[str, str]]:
    """(section, name) -> (value, type) of every hyperparameter, checking each item names
    the section and the name it is kept under."""
    found = {}
    for section, params in (state.hyperparams or {}).items():
        for name, item in params.items():
            assert (item.section, item.name) == (section, name)
            found[section, name] = (str(item.value), str(item.type))
    return found


def configs(state: TaskState) -> dict[str, tuple[str, str]]:
    found = {}
    for name, item in (state.configuration or {}).items():
        assert item.name == name
        found[name] = (str(item.value), str(item.type))
    return found


def edited(state: TaskState, **fields: Any) -> TaskState:
    command = msgspec.convert({"task": TASK_ID, **fields}, cmd.EditTask)
    return run(state, command)[1]


def test_create_keeps_parameters_as_legacy_hyperparams_beside_the_given_ones() -> None:
    state = created(
        execution={"parameters": {"lr": "0.1", "TF_DEFINE/steps": 10, "a/b": True}},
        hyperparams={"General": {"x": {"value": "1"}}},
    )
    assert items(state) == {
        ("General", "x"): ("1", "UNSET"),
        ("Args", "lr"): ("0.1", "legacy"),
        ("Args", "a/b"): ("True", "legacy"),  # only TF_DEFINE/ names a section
        ("TF_DEFINE", "steps"): ("10", "legacy"),
    }
    assert state.execution is None  # nothing else was in it


def test_create_keeps_the_model_description_as_legacy_configuration() -> None:
    state = created(
        execution={"model_desc": {"design": "hello"}, "framework": "keras"},
        configuration={"other": {"value": "x"}},
    )
    assert configs(state) == {"design": ("hello", "legacy"), "other": ("x", "UNSET")}
    assert state.execution is not None
    assert state.execution.framework == "keras"
    assert state.execution.parameters is msgspec.UNSET
    assert state.execution.model_desc is msgspec.UNSET


def test_a_tf_define_parameter_needs_a_name() -> None:
    command = msgspec.convert(
        {"name": "a task", "type": "training", "execution": {"parameters": {"TF_DEFINE/": 1}}},
        cmd.CreateTask,
    )
    with pytest.raises(InvalidRequest):
        editing.create(command, ctx(), TASK_ID)


def test_an_edit_replaces_the_earlier_legacy_items_and_keeps_the_rest() -> None:
    before = created(
        execution={"parameters": {"old": "1", "TF_DEFINE/gone": "2"}, "model_desc": {"d": "x"}},
        hyperparams={"General": {"keep": {"value": "k"}}},
        configuration={"cfg": {"value": "c"}},
    )
    after = edited(before, execution={"parameters": {"new": "3"}, "model_desc": {"d2": "y"}})
    # TF_DEFINE held only legacy items: the section goes with them.
    assert items(after) == {("General", "keep"): ("k", "UNSET"), ("Args", "new"): ("3", "legacy")}
    assert configs(after) == {"cfg": ("c", "UNSET"), "d2": ("y", "legacy")}


def test_an_edit_with_empty_legacy_fields_clears_the_legacy_items() -> None:
    before = created(execution={"parameters": {"old": "1"}, "model_desc": {"d": "x"}})
    after = edited(before, execution={"parameters": {}, "model_desc": {}})
    assert items(after) == {}
    assert configs(after) == {}


def test_an_edit_with_empty_legacy_fields_and_no_legacy_items_changes_nothing() -> None:
    before = created(hyperparams={"General": {"keep": {"value": "k"}}})
    command = msgspec.convert(
        {"task": TASK_ID, "execution": {"parameters": {}, "model_desc": {}}}, cmd.EditTask
    )
    events, after = run(before, command)
    assert events == []
    assert items(after) == {("General", "keep"): ("k", "UNSET")}


def test_an_edit_giving_hyperparams_too_adds_the_legacy_ones_to_them() -> None:
    before = created(hyperparams={"General": {"gone": {"value": "g"}}})
    after = edited(
        before,
        hyperparams={"New": {"n": {"value": "1"}}},
        execution={"parameters": {"p": "2"}},
    )
    assert items(after) == {("New", "n"): ("1", "UNSET"), ("Args", "p"): ("2", "legacy")}


def test_legacy_fields_read_back_by_their_old_names() -> None:
    state = created(
        execution={"parameters": {"lr": "0.1", "TF_DEFINE/steps": "10"}, "model_desc": {"d": "x"}},
        hyperparams={"General": {"x": {"value": "1"}}},
        configuration={"cfg": {"value": "c"}},
    )
    assert legacy.legacy_parameters(state.hyperparams) == {"lr": "0.1", "TF_DEFINE/steps": "10"}
    assert legacy.legacy_model_desc(state.configuration) == {"d": "x"}
    assert legacy.legacy_parameters(None) == {}
    assert legacy.legacy_model_desc({"x": ConfigItem(value="1")}) == {}
    odd = {"Args": {"n": ParamItem(type="legacy")}}  # a legacy item without a value
    assert legacy.legacy_parameters(odd) == {"n": ""}


@pytest.mark.parametrize(("given", "stored"), [(1, 1), (1.0, 1), (-3.0, -3)])
def test_model_labels_are_integers_a_float_may_spell(given: float, stored: int) -> None:
    state = created(execution={"model_labels": {"layer": given}})
    assert state.execution is not None
    assert state.execution.model_labels == {"layer": stored}
    assert type(state.execution.model_labels["layer"]) is int


def test_a_fractional_model_label_is_refused() -> None:
    command = msgspec.convert(
        {"task": TASK_ID, "execution": {"model_labels": {"a": 1.5}}}, cmd.EditTask
    )
    refused(new_task(), command, 400, 12)


def test_clone_overrides_take_integral_labels_and_drop_legacy_parameters() -> None:
    source = created(execution={"parameters": {"p": "1"}, "framework": "torch"})
    command = msgspec.convert(
        {
            "task": TASK_ID,
            "execution_overrides": {
                "framework": "caffe",
                "model_labels": {"test": 1.0},
                "parameters": {"q": "2"},
            },
        },
        cmd.CloneTask,
    )
    copy = fold(editing.clone(source, command, ctx(), "f" * 32))
    assert copy is not None
    assert copy.execution is not None
    assert (copy.execution.framework, copy.execution.model_labels) == ("caffe", {"test": 1})
    assert copy.execution.parameters is msgspec.UNSET
    assert items(copy) == {("Args", "p"): ("1", "legacy")}  # the source's, as ClearML


def test_create_edit_update_and_clone_read_a_top_level_null_as_not_given() -> None:
    fields = {"name": "a task", "type": "training", "system_tags": None, "tags": None}
    command = msgspec.convert(cmd.given_fields(cmd.CreateTask, fields), cmd.CreateTask)
    assert (command.tags, command.system_tags) == (msgspec.UNSET, msgspec.UNSET)
    clone = {"task": TASK_ID, "new_task_tags": None, "new_task_hyperparams": None}
    assert (
        msgspec.convert(cmd.given_fields(cmd.CloneTask, clone), cmd.CloneTask).new_task_tags
        is msgspec.UNSET
    )
    # So do edit and update: a null parent or project changes nothing, as in ClearML.
    edit = {"task": TASK_ID, "parent": None, "project": None, "tags": None, "comment": "c"}
    assert cmd.given_fields(cmd.EditTask, edit) == {"task": TASK_ID, "comment": "c"}
    assert cmd.given_fields(cmd.UpdateTask, edit) == {"task": TASK_ID, "comment": "c"}
    # Elsewhere a null keeps its meaning (and its validation).
    tags = {"ids": [TASK_ID], "add_tags": None}
    assert cmd.given_fields(cmd.UpdateTags, tags) == tags
