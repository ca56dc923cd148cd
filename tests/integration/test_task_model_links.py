"""A task's commands keep its model links consistent (issue 19): publishing a task publishes its
output model, reset and delete clean up its output models, a clone finds the models it names."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import TaskCannotBeDeleted, TaskNotFound
from tasktrack.domain.model_errors import ModelInUse, ModelNotFound, ModelsNotFound
from tasktrack.projections import rebuild, registry


def _task(client: Client, **kw: object) -> str:
    return str(client.create(name="trainer", type="training", **kw)["id"])


def _running_with_model(client: Client, **kw: object) -> tuple[str, str]:
    task = _task(client, **kw)
    client.started(task=task)
    return task, str(client.update_model_for_task(task=task, uri="file:///w")["id"])


def _gone(client: Client, model: str) -> bool:
    try:
        client.get_model(model)
    except ModelNotFound:
        return True
    return False


def test_publishing_a_task_publishes_its_output_model(client: Client) -> None:
    task, model = _running_with_model(client)
    client.stopped(task=task)
    assert client.get_model(model).ready is False
    client.publish(task=task)
    assert client.get_model(model).ready is True
    # publish_model: false leaves it a draft.
    other, draft = _running_with_model(client)
    client.stopped(task=other)
    client.publish(task=other, publish_model=False)
    assert client.get_model(draft).ready is False


def test_completed_with_publish_and_publish_many_publish_the_models(client: Client) -> None:
    task, model = _running_with_model(client)
    client.completed(task=task, publish=True)
    assert client.get_model(model).ready is True
    pairs = [_running_with_model(client) for _ in range(2)]
    for task, _ in pairs:
        client.stopped(task=task)
    done = client.publish_many(ids=[t for t, _ in pairs])
    assert [s["id"] for s in done["succeeded"]] == [t for t, _ in pairs]
    assert [client.get_model(m).ready for _, m in pairs] == [True, True]
    # reset_many with force: published output models stay, unlinked.
    done = client.reset_many(ids=[t for t, _ in pairs], force=True, return_file_urls=True)
    assert [(s["deleted_models"], s["urls"]["model_urls"]) for s in done["succeeded"]] == [
        (0, []),
        (0, []),
    ]
    assert [client.get_model(m).task for _, m in pairs] == [None, None]


def test_reset_deletes_an_unused_draft_output_model(client: Client) -> None:
    task, model = _running_with_model(client)
    client.add_or_update_artifacts(task=task, artifacts=[{"key": "a", "type": "t", "uri": "u"}])
    result = client.reset(task=task, return_file_urls=True)
    assert (result["deleted_models"], result["updated_models"]) == (1, 0)
    assert result["urls"] == {"model_urls": ["file:///w"], "event_urls": [], "artifact_urls": ["u"]}
    assert "urls" not in client.reset(task=task)
    assert _gone(client, model)
    assert client.get_by_id(task).models.output == []  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["models.input", "execution.model"])
def test_reset_keeps_a_draft_another_task_takes_as_input(client: Client, how: str) -> None:
    task, model = _running_with_model(client)
    if how == "models.input":
        _task(client, models={"input": [{"name": "in", "model": model}]})
    else:
        _task(client, execution={"model": model})
    assert client.reset(task=task)["deleted_models"] == 0
    assert client.get_model(model).task is None  # kept, no longer the reset task's


def test_a_published_output_model_blocks_reset_and_delete_without_force(client: Client) -> None:
    task, model = _running_with_model(client)
    client.set_model_ready(model=model, publish_task=False)
    client.stopped(task=task)
    with pytest.raises(TaskCannotBeDeleted):
        client.reset(task=task)
    assert client.get_by_id(task).status == "stopped"  # nothing was written
    client.reset(task=task, force=True)
    assert client.get_model(model).task is None
    # A deletion points the kept model at the deleted task.
    other, kept = _running_with_model(client)
    client.set_model_ready(model=kept, publish_task=False)
    with pytest.raises(TaskCannotBeDeleted):
        client.delete(task=other, force=False)
    result = client.delete(task=other, force=True)
    assert (result["deleted_models"], result["updated_models"]) == (0, 1)
    assert client.get_model(kept).task == f"__DELETED__{other}"


def test_deleting_a_task_deletes_its_draft_models_and_their_frameworks(client: Client) -> None:
    project = client.create_project(name="frameworks")["id"]
    task, model = _running_with_model(client, project=project, execution={"framework": "fw"})
    assert client.get_model_frameworks([project]) == ["fw"]
    assert client.delete(task=task, force=True)["deleted_models"] == 1
    assert _gone(client, model)
    assert client.get_model_frameworks([project]) == []
    # delete_output_models: false keeps the draft, pointed at the deleted task.
    other, draft = _running_with_model(client)
    client.delete(task=other, force=True, delete_output_models=False)
    assert client.get_model(draft).task == f"__DELETED__{other}"


def test_a_clone_finds_the_models_it_names(client: Client) -> None:
    model = client.create_model(name="m", uri="file:///m")["id"]
    task = _task(client, models={"input": [{"name": "in", "model": model}]})
    client.delete_model(model=model, force=True)
    assert client.clone(task=task)["id"]  # a dangling input is copied as it is
    before = len(client.get_all())
    with pytest.raises(ModelsNotFound):
        client.clone(task=task, validate_references=True)
    with pytest.raises(ModelsNotFound):
        client.clone(task=task, execution_overrides={"model": "not existing"})
    assert len(client.get_all()) == before  # nothing was written
    fine = client.create_model(name="m2", uri="file:///m2")["id"]
    assert client.clone(task=task, execution_overrides={"model": fine})["id"]


def test_a_clone_with_validate_references_needs_its_parent(client: Client) -> None:
    parent = _task(client)
    child = _task(client, parent=parent)
    client.delete(task=parent, force=True)
    client.clone(task=child, validate_references=True)  # a __DELETED__ parent is no parent
    assert client.clone(task=child, new_task_parent=child, validate_references=True)["id"]
    with pytest.raises(TaskNotFound):
        client.clone(task=child, new_task_parent="no such task")


def test_rebuild_and_verify_after_the_links_moved(client: Client, engine: Engine) -> None:
    task, model = _running_with_model(client)
    _task(client, models={"input": [{"name": "in", "model": model}]})
    client.reset(task=task)
    gone_task, gone_model = _running_with_model(client)
    client.delete(task=gone_task, force=True)
    specs = [registry.BY_NAME["models"], registry.BY_NAME["tasks"]]
    assert rebuild.verify(engine, specs) == []
    rebuild.rebuild(engine, specs)
    assert rebuild.verify(engine, specs) == []
    assert client.get_model(model).task is None
    assert _gone(client, gone_model)


def test_deleting_an_input_model_needs_force_and_marks_the_tasks(client: Client) -> None:
    model = client.create_model(name="m", uri="file:///m")["id"]
    legacy = _task(client, execution={"model": model})
    current = _task(client, models={"input": [{"name": "in", "model": model}]})
    with pytest.raises(ModelInUse):
        client.delete_model(model=model)
    assert client.get_model(model).id == model  # nothing was written
    assert client.delete_model(model=model, force=True)["deleted"] is True
    assert client.get_by_id(legacy).execution.model == f"__DELETED__{model}"  # type: ignore[union-attr]
    inputs = client.get_by_id(current).models.input  # type: ignore[union-attr]
    assert [(m.name, m.model) for m in inputs] == [("in", f"__DELETED__{model}")]
    # delete_many: each model alone, the users of the deleted ones marked.
    a = client.create_model(name="a", uri="file:///a")["id"]
    b = client.create_model(name="b", uri="file:///b")["id"]
    user = _task(client, models={"input": [{"name": "a", "model": a}, {"name": "b", "model": b}]})
    result = client.delete_many_models(ids=[a, b])
    assert [f["error"]["codes"] for f in result["failed"]] == [[400, 205], [400, 205]]
    result = client.delete_many_models(ids=[a, b], force=True)
    assert [s["id"] for s in result["succeeded"]] == [a, b]
    inputs = client.get_by_id(user).models.input  # type: ignore[union-attr]
    assert [m.model for m in inputs] == [f"__DELETED__{a}", f"__DELETED__{b}"]
