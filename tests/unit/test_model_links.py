"""A task's links to models, decided purely: what a reset or deletion does to its output models,
and which models a clone must find."""

from __future__ import annotations

import msgspec
import pytest
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain import model_links as links
from tasktrack.domain import model_rules
from tasktrack.domain.errors import TaskCannotBeDeleted
from tasktrack.domain.evolve import evolve as evolve_task
from tasktrack.domain.model_errors import ModelInUse
from tasktrack.domain.models import ModelState, fold
from tasktrack.domain.values import Artifact, Execution, ModelItem, TaskModels
from tests.unit.domain_builders import TASK_ID, ctx, new_task


def _model(model_id: str, *, ready: bool, task: str | None = TASK_ID) -> ModelState:
    c = msgspec.convert(
        {"name": model_id, "uri": "u", "ready": ready, "task": task}, mc.CreateModel
    )
    state = fold(model_rules.create(c, ctx(), model_id))
    assert state is not None
    return state


def _kinds(cleanup: links.Cleanup) -> dict[str, list[str]]:
    """model id -> its event types, and for an edit the task it now names."""
    out: dict[str, list[str]] = {}
    for model_id, events in cleanup.events.items():
        out[model_id] = [
            f"task={e.changes.task}" if isinstance(e, ev.ModelEdited) else type(e).__name__
            for e in events
        ]
    return out


def test_output_models_are_the_named_ones_then_the_linked_ones_each_once() -> None:
    outputs = [ModelItem(name="a", model="m1"), ModelItem(name="b", model="m2")]
    task = new_task(models=TaskModels(output=outputs))
    assert links.output_model_ids(task, ["m2", "m3"]) == ["m1", "m2", "m3"]
    assert links.last_output_model(task) == "m2"
    assert links.last_output_model(new_task()) is None


def test_reset_deletes_unused_drafts_and_unlinks_the_rest() -> None:
    task = new_task()
    models = [_model("draft", ready=False), _model("used", ready=False), _model("pub", ready=True)]
    done = links.cleanup(task, models, {"used"}, ctx(), deleting=False, force=True)
    assert _kinds(done) == {
        "draft": ["ModelDeleted"],
        "used": ["task=None"],
        "pub": ["task=None"],
    }
    assert (done.deleted_models, done.updated_models) == (1, 0)


def test_delete_points_kept_published_models_at_the_deleted_task() -> None:
    task = new_task()
    models = [_model("draft", ready=False), _model("pub", ready=True)]
    done = links.cleanup(task, models, set(), ctx(), deleting=True, force=True)
    assert _kinds(done) == {"draft": ["ModelDeleted"], "pub": [f"task=__DELETED__{TASK_ID}"]}
    assert (done.deleted_models, done.updated_models) == (1, 1)


def test_without_delete_output_models_drafts_are_kept_like_published_ones() -> None:
    task = new_task()
    done = links.cleanup(
        task,
        [_model("draft", ready=False)],
        set(),
        ctx(),
        deleting=False,
        force=False,
        delete_drafts=False,
    )
    assert _kinds(done) == {"draft": ["task=None"]}
    assert done.deleted_models == 0


def test_a_published_output_model_needs_force() -> None:
    with pytest.raises(TaskCannotBeDeleted) as raised:
        links.cleanup(
            new_task(), [_model("pub", ready=True)], set(), ctx(), deleting=False, force=False
        )
    assert (raised.value.code, raised.value.subcode) == (400, 123)


def test_an_unlinked_model_already_pointing_elsewhere_writes_nothing() -> None:
    used = _model("used", ready=False, task=None)
    done = links.cleanup(new_task(), [used], {"used"}, ctx(), deleting=False, force=False)
    assert done.events == {}


def _created(**fields: object) -> ev.TaskCreated:
    return ev.TaskCreated(
        at=ctx().now, by="u", task_id="t2", company="c", name="n", type="training", **fields
    )


def test_a_clone_checks_every_input_model_only_when_asked() -> None:
    created = _created(
        models=TaskModels(input=[ModelItem(name="in", model="m1")]),
        execution=Execution(model="m0"),
    )
    plain = cmd.CloneTask(task=TASK_ID)
    assert links.clone_references(created, plain) == []
    asked = cmd.CloneTask(task=TASK_ID, validate_references=True)
    assert links.clone_references(created, asked) == ["m1", "m0"]
    override = cmd.CloneTask(task=TASK_ID, execution_overrides=Execution(model="x"))
    assert links.clone_references(created, override) == ["x"]


def test_deleting_an_input_model_needs_force_and_marks_its_users() -> None:
    inputs = TaskModels(input=[ModelItem(name="in", model="m1"), ModelItem(name="x", model="m2")])
    user = new_task(models=inputs, execution=Execution(model="m1"))
    bystander = structs.replace(new_task(), id="another task")
    with pytest.raises(ModelInUse) as raised:
        links.input_model_deleted("m1", [user, bystander], ctx(), force=False)
    assert (raised.value.code, raised.value.subcode) == (400, 205)
    events = links.input_model_deleted("m1", [user, bystander], ctx(), force=True)
    assert list(events) == [user.id]
    after = evolve_task(user, events[user.id][0])
    assert after.models is not None
    assert [(m.name, m.model) for m in after.models.input or []] == [
        ("in", "__DELETED__m1"),
        ("x", "m2"),
    ]
    assert after.execution is not None
    assert after.execution.model == "__DELETED__m1"
    assert links.input_model_deleted("m1", [bystander], ctx(), force=False) == {}


def test_file_urls_list_unused_draft_weights_and_uploaded_artifacts() -> None:
    artifacts = [
        Artifact(key="out", type="t", uri="file:///out"),
        Artifact(key="in", type="t", mode="input", uri="file:///in"),
        Artifact(key="nowhere", type="t"),
    ]
    task = new_task(execution=Execution(artifacts=artifacts))
    models = [_model("draft", ready=False), _model("used", ready=False), _model("pub", ready=True)]
    done = links.cleanup(task, models, {"used"}, ctx(), deleting=True, force=True)
    assert links.file_urls(task, done) == {
        "model_urls": ["u"],
        "event_urls": [],
        "artifact_urls": ["file:///out"],
    }
