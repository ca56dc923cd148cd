"""clone, update_tags, set_requirements, ping and validate end to end (SEMANTICS §1-3)."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec import UNSET
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tests.integration.task_commands_support import (
    UNKNOWN_ID,
    event_count,
    expect_error,
    new_task,
    queue_of,
    snapshot,
    task_in,
)

HYPERPARAMS: dict[str, Any] = {
    "Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1", "type": "float"}}
}
CONFIGURATION: dict[str, Any] = {"main": {"name": "main", "value": "a: 1", "type": "yaml"}}


def _rich_source(client: Client) -> str:
    """A queued task with every field clone copies, and some it must not."""
    t = new_task(
        client,
        name="source task",
        type="testing",
        comment="the comment",
        tags=["b", "a"],
        project="proj-1",
        script={"repository": "git@example.com:r.git", "entry_point": "train.py"},
        output_dest="s3://bucket/out",
        execution={"framework": "torch", "parameters": {"x": "1"}},
        hyperparams=HYPERPARAMS,
        configuration=CONFIGURATION,
        models={
            "input": [{"name": "base", "model": "model-base"}],
            "output": [{"name": "trained", "model": "model-trained"}],
        },
        container={"image": "python:3.12"},
        runtime={"gpu": "a100"},
    )
    client.add_or_update_artifacts(
        task=t,
        artifacts=[
            {"key": "in-data", "type": "csv", "mode": "input"},
            {"key": "out-weights", "type": "bin", "mode": "output"},
        ],
    )
    client.enqueue(task=t, queue_name="q")
    client.update(task=t, output={"error": "boom"}, system_tags=["archived", "development", "keep"])
    return t


def test_clone_copies_the_definition_and_nothing_of_the_run(client: Client) -> None:
    source_id = _rich_source(client)
    source = client.get_by_id(source_id)
    assert queue_of(source) is not None

    clone_id = str(client.clone(task=source_id)["id"])

    assert clone_id != source_id
    assert client.get_by_id(source_id) == source
    clone = client.get_by_id(clone_id)
    assert clone.status == "created"
    assert clone.user == "alice"
    assert clone.parent == source_id
    same = ("name", "type", "comment", "tags", "project", "script", "hyperparams")
    for field in (*same, "configuration", "container"):
        assert getattr(clone, field) == getattr(source, field), field
    assert clone.tags == ["a", "b"]
    assert clone.system_tags == ["keep"]
    assert clone.output is not None
    assert clone.output.destination == "s3://bucket/out"
    assert clone.output.error in (UNSET, None, "")
    assert clone.execution is not None
    assert queue_of(clone) is None
    assert clone.execution.framework == "torch"
    assert clone.hyperparams is not None  # the source's execution.parameters, as ClearML keeps them
    assert clone.hyperparams["Args"]["x"].value == "1"
    assert clone.execution.artifacts is not UNSET
    assert [(a.key, a.mode) for a in clone.execution.artifacts] == [("in-data", "input")]
    assert clone.models is not None
    assert [(m.name, m.model) for m in clone.models.input or []] == [("base", "model-base")]
    assert clone.models.output in (UNSET, [])
    assert (clone.started, clone.completed, clone.enqueue_status) == (None, None, None)
    assert client.get_status_history(clone_id) == []


def test_clone_with_overrides(client: Client) -> None:
    source_id = _rich_source(client)
    other_parent = new_task(client, name="adoptive parent")

    clone_id = str(
        client.clone(
            task=source_id,
            new_task_name="the clone",
            new_task_comment="new comment",
            new_task_tags=["z", "y"],
            new_task_system_tags=["sys"],
            new_task_parent=other_parent,
            new_task_project="proj-2",
            new_task_hyperparams={"Other": {"n": {"section": "Other", "name": "n", "value": "2"}}},
            new_task_configuration={"alt": {"name": "alt", "value": "b: 2"}},
            new_task_container={"image": "python:3.13"},
            execution_overrides={"framework": "jax"},
        )["id"]
    )

    clone = client.get_by_id(clone_id)
    assert (clone.name, clone.comment, clone.project) == ("the clone", "new comment", "proj-2")
    assert (clone.tags, clone.system_tags) == (["y", "z"], ["sys"])
    assert clone.parent == other_parent
    assert clone.hyperparams is not None
    assert list(clone.hyperparams) == ["Other"]
    assert clone.hyperparams["Other"]["n"].value == "2"
    assert clone.configuration is not None
    assert list(clone.configuration) == ["alt"]
    assert clone.configuration["alt"].value == "b: 2"
    assert clone.container == {"image": "python:3.13"}
    assert clone.execution is not None
    assert clone.execution.framework == "jax"
    assert queue_of(clone) is None
    assert clone.type == "testing"


def test_clone_inherits_the_parent_unless_it_was_deleted(client: Client) -> None:
    grandparent = new_task(client, name="grandparent")
    source = new_task(client, name="source", parent=grandparent)
    first = str(client.clone(task=source)["id"])
    assert client.get_by_id(first).parent == grandparent

    client.delete(task=grandparent)
    assert client.get_by_id(source).parent == f"__DELETED__{grandparent}"
    second = str(client.clone(task=source)["id"])
    assert client.get_by_id(second).parent == source


def test_clone_of_an_unknown_task_is_101(client: Client, engine: Engine) -> None:
    before = event_count(engine, client.caller.company)
    expect_error((400, 101), client.clone, task=UNKNOWN_ID)
    assert event_count(engine, client.caller.company) == before
    assert client.get_all() == []


# --- update_tags, set_requirements -----------------------------------------------------------


def test_update_tags_adds_and_removes_on_several_tasks(client: Client) -> None:
    a = new_task(client, name="task a", tags=["old", "z"], system_tags=["sys"])
    b = new_task(client, name="task b")
    client.update_tags(ids=[a, b], add_tags=["x", "z"], remove_tags=["old"])
    ta, tb = client.get_by_id(a), client.get_by_id(b)
    assert (ta.tags, ta.system_tags) == (["x", "z"], ["sys"])
    assert (tb.tags, tb.system_tags) == (["x", "z"], [])
    assert client.get_status_history(a) == []


def test_update_tags_works_in_any_status(client: Client) -> None:
    t = task_in(client, "published", tags=["a"])
    client.update_tags(ids=[t], add_tags=["b"])
    assert client.get_by_id(t).tags == ["a", "b"]


def test_a_reserved_tag_is_refused(client: Client, engine: Engine) -> None:
    t = new_task(client)
    before = snapshot(client, engine, [t])
    # SEMANTICS §1 forbids the prefix without naming a subcode: any 400 refusal will do.
    with pytest.raises(DomainError) as refused:
        client.update_tags(ids=[t], add_tags=["__$bad"])
    assert refused.value.code == 400
    assert snapshot(client, engine, [t]) == before


def test_set_requirements_replaces_the_requirements_only(client: Client) -> None:
    t = new_task(client, script={"repository": "git@example.com:r.git"})
    client.set_requirements(task=t, requirements={"pip": "numpy==1.26"})
    client.set_requirements(task=t, requirements={"conda": "python=3.12"})
    script = client.get_by_id(t).script
    assert script is not None
    assert script.requirements == {"conda": "python=3.12"}
    assert script.repository == "git@example.com:r.git"


# --- ping, validate --------------------------------------------------------------------------


def test_ping_of_an_unknown_id_is_ignored(client: Client, engine: Engine) -> None:
    before = event_count(engine, client.caller.company)
    client.ping(task=UNKNOWN_ID)
    assert event_count(engine, client.caller.company) == before


def test_ping_refreshes_last_update(client: Client) -> None:
    t = task_in(client, "in_progress")
    before = client.get_by_id(t)
    client.ping(task=t)
    after = client.get_by_id(t)
    assert after.last_update is not None
    assert before.last_update is not None
    assert after.last_update > before.last_update
    assert after.active_duration is not None
    assert after.active_duration >= 0
    assert after.status == "in_progress"


def test_validate_writes_nothing(client: Client, engine: Engine) -> None:
    before = event_count(engine, client.caller.company)
    client.validate(name="a valid task", type="training", tags=["a"])
    expect_error((400, 800), client.validate, name="  ab  ", type="training")
    expect_error((400, 101), client.validate, name="orphan", type="training", parent=UNKNOWN_ID)
    assert event_count(engine, client.caller.company) == before
    assert client.get_all() == []
