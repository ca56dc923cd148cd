"""create, clone, edit and update rules (SEMANTICS §1, §3), decided then folded, no database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import editing
from tasktrack.domain import events as ev
from tasktrack.domain.errors import DomainError
from tasktrack.domain.evolve import fold
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import (
    ConfigItem,
    Execution,
    ModelItem,
    Output,
    ParamItem,
    Script,
    TaskModels,
)
from tests.unit.domain_builders import (
    COMPANY,
    STATUSES,
    T1,
    TASK_ID,
    USER,
    artifact_ids,
    ctx,
    empty,
    full_task,
    model_names,
    new_task,
    refused,
    run,
    task_in,
)

NEW_ID = "fedcba9876543210fedcba9876543210"


def cloned(source: TaskState, **overrides: Any) -> TaskState:
    events = editing.clone(source, cmd.CloneTask(task=source.id, **overrides), ctx(), NEW_ID)
    state = fold(events)
    assert state is not None
    return state


# --- clone ------------------------------------------------------------------------------------


def test_clone_copies_the_listed_fields() -> None:
    source = full_task("completed")
    copy = cloned(source)
    assert (copy.id, copy.status, copy.user, copy.company) == (NEW_ID, "created", USER, COMPANY)
    assert copy.created == T1
    for field in (
        "name",
        "comment",
        "tags",
        "project",
        "type",
        "script",
        "container",
        "hyperparams",
        "configuration",
        "parent",
    ):
        assert getattr(copy, field) == getattr(source, field), field
    assert copy.output is not None
    assert copy.output.destination == "s3://bucket/out"
    assert model_names(copy, "input") == {"base": "m-in"}
    assert copy.execution is not None
    assert copy.execution.framework == "pytorch"
    assert copy.hyperparams is not None
    assert copy.hyperparams["Args"]["p"].value == "1"  # execution.parameters, as ClearML keeps it


def test_clone_omits_run_fields_queue_output_artifacts_and_output_models() -> None:
    copy = cloned(full_task("completed"))
    assert copy.system_tags == ["sys"]  # development and archived are dropped
    assert copy.queue is None
    assert artifact_ids(copy) == [("in-art", "input")]
    assert model_names(copy, "output") == {}
    assert copy.output is not None
    assert empty(copy.output.result)
    assert empty(copy.output.error)
    assert empty(copy.runtime)
    assert copy.last_iteration == 0
    for field in ("started", "completed", "published", "last_worker", "enqueue_status"):
        assert getattr(copy, field) is None, field


@pytest.mark.parametrize(
    ("parent", "expected"),
    [("p" * 32, "p" * 32), (None, TASK_ID), ("__DELETED__" + "p" * 32, TASK_ID)],
)
def test_clone_parent_is_the_source_parent_else_the_source(
    parent: str | None, expected: str
) -> None:
    source = structs.replace(full_task(), parent=parent)
    assert cloned(source).parent == expected
    assert cloned(source, new_task_parent="n" * 32).parent == "n" * 32


def test_clone_new_task_fields_override() -> None:
    copy = cloned(
        full_task(),
        new_task_name="other name",
        new_task_comment="other comment",
        new_task_tags=["x"],
        new_task_system_tags=["y"],
        new_task_project="proj-2",
        new_task_hyperparams={"S": {"k": ParamItem(value="v")}},
        new_task_configuration={"C": ConfigItem(value="c")},
        new_task_container={"image": "other"},
    )
    assert (copy.name, copy.comment, copy.project) == ("other name", "other comment", "proj-2")
    assert (copy.tags, copy.system_tags) == (["x"], ["y"])
    assert copy.hyperparams is not None
    assert {s: {n: i.value for n, i in items.items()} for s, items in copy.hyperparams.items()} == {
        "S": {"k": "v"}
    }
    assert copy.configuration is not None
    assert {n: i.value for n, i in copy.configuration.items()} == {"C": "c"}
    assert copy.container == {"image": "other"}


# --- edit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "created"])
def test_edit_outside_created_needs_force(status: str) -> None:
    refused(task_in(status), cmd.EditTask(task=TASK_ID, comment="new"), 400, 110)
    _, after = run(task_in(status), cmd.EditTask(task=TASK_ID, comment="new", force=True))
    assert after.comment == "new"
    assert after.status == status


def test_edit_in_created() -> None:
    _, after = run(new_task(), cmd.EditTask(task=TASK_ID, comment="new", project="proj-9"))
    assert (after.comment, after.project) == ("new", "proj-9")
    assert after.last_change == T1


def test_edit_shallow_merges_embedded_objects() -> None:
    before = full_task("created")
    edit = cmd.EditTask(
        task=TASK_ID,
        execution=Execution(framework="tensorflow"),
        script=Script(branch="dev"),
        output=Output(error="bad"),
        models=TaskModels(input=[ModelItem(name="other", model="m2")]),
    )
    _, after = run(before, edit)
    assert after.execution is not None
    assert after.execution.framework == "tensorflow"
    assert after.execution.docker_cmd == "python:3.11"
    assert artifact_ids(after) == [("in-art", "input"), ("out-art", "output")]
    assert after.script is not None
    assert (after.script.branch, after.script.repository) == ("dev", "git@host:repo")
    assert after.output is not None
    assert (after.output.error, after.output.destination) == ("bad", "s3://bucket/out")
    assert model_names(after, "input") == {"other": "m2"}
    assert model_names(after, "output") == {"final": "m-out"}


def test_edit_replaces_maps() -> None:
    before = structs.replace(
        full_task("created"),
        hyperparams={"A": {"a": ParamItem(value="1")}, "B": {"b": ParamItem(value="2")}},
        configuration={"c1": ConfigItem(value="1"), "c2": ConfigItem(value="2")},
        container={"image": "x", "arguments": "y"},
        runtime={"gpu": "A100", "cpu": "8"},
    )
    edit = cmd.EditTask(
        task=TASK_ID,
        hyperparams={"A": {"z": ParamItem(value="9")}},
        configuration={"c3": ConfigItem(value="3")},
        container={"image": "z"},
        runtime={"cpu": "16"},
    )
    _, after = run(before, edit)
    assert after.hyperparams is not None
    assert {s: sorted(items) for s, items in after.hyperparams.items()} == {"A": ["z"]}
    assert after.configuration is not None
    assert sorted(after.configuration) == ["c3"]
    assert after.container == {"image": "z"}
    assert after.runtime == {"cpu": "16"}


def test_edit_with_force_writes_status_directly_as_a_status_change() -> None:
    # completed -> queued is not in the table: force skips it and the change is recorded
    events, after = run(
        task_in("completed"), cmd.EditTask(task=TASK_ID, force=True, status="queued")
    )
    assert after.status == "queued"
    changes = [c for c in map(ev.status_change, events) if c is not None]
    assert [(c.from_status, c.to_status, c.force) for c in changes] == [
        ("completed", "queued", True)
    ]
    assert after.status_changed == T1


# --- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_update_is_allowed_in_any_status(status: str) -> None:
    before = task_in(status, output=Output(destination="s3://d", result="ok"))
    update = cmd.UpdateTask(
        task=TASK_ID,
        name="renamed",
        status_message="note",
        comment="c",
        project="proj-3",
        tags=["t"],
        system_tags=["s"],
        output=Output(error="oops"),
    )
    _, after = run(before, update)
    assert after.status == status
    assert (after.name, after.status_message, after.comment) == ("renamed", "note", "c")
    assert (after.project, after.tags, after.system_tags) == ("proj-3", ["t"], ["s"])
    assert after.output == Output(destination="s3://d", result="ok", error="oops")


def test_update_ignores_other_keys() -> None:
    before = full_task("stopped")
    body = {
        "task": TASK_ID,
        "comment": "c",
        "type": "testing",
        "status": "created",
        "script": {"branch": "other"},
        "hyperparams": {},
        "runtime": {},
        "output": {"destination": "s3://elsewhere", "result": "changed", "error": "e"},
    }
    _, after = run(before, msgspec.convert(body, cmd.UpdateTask))
    assert after.comment == "c"
    assert (after.type, after.status, after.script) == (before.type, "stopped", before.script)
    assert (after.hyperparams, after.runtime) == (before.hyperparams, before.runtime)
    assert after.output is not None
    assert (after.output.destination, after.output.result) == ("s3://bucket/out", "ok")
    assert after.output.error == "e"


# --- names and tags ---------------------------------------------------------------------------

Apply = Callable[[dict[str, Any]], TaskState]


def by_create(fields: dict[str, Any]) -> TaskState:
    return new_task(**fields)


def by_edit(fields: dict[str, Any]) -> TaskState:
    return run(new_task(), cmd.EditTask(task=TASK_ID, **fields))[1]


def by_update(fields: dict[str, Any]) -> TaskState:
    return run(task_in("completed"), cmd.UpdateTask(task=TASK_ID, **fields))[1]


WAYS = [by_create, by_edit, by_update]


@pytest.mark.parametrize("apply", WAYS)
def test_name_is_trimmed(apply: Apply) -> None:
    assert apply({"name": "  abc  "}).name == "abc"


@pytest.mark.parametrize("name", ["ab", "  ab  ", "", "   "])
@pytest.mark.parametrize("apply", WAYS)
def test_name_shorter_than_3_is_400_800(apply: Apply, name: str) -> None:
    with pytest.raises(DomainError) as info:
        apply({"name": name})
    assert info.value.codes == (400, 800)


@pytest.mark.parametrize("field", ["tags", "system_tags"])
@pytest.mark.parametrize("apply", WAYS)
def test_tags_are_sorted_and_deduplicated(apply: Apply, field: str) -> None:
    assert getattr(apply({field: ["b", "a", "b", "c"]}), field) == ["a", "b", "c"]


@pytest.mark.parametrize("field", ["tags", "system_tags"])
@pytest.mark.parametrize("apply", WAYS)
def test_a_tag_may_not_start_with_the_filter_prefix(apply: Apply, field: str) -> None:
    # SEMANTICS forbids the tag but names no subcode for it: a validation (12) or data rule (800)
    with pytest.raises(DomainError) as info:
        apply({field: ["ok", "__$all"]})
    assert info.value.code == 400
    assert info.value.subcode in (12, 800)
