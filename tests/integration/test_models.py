"""Models through the service against PostgreSQL: the task links, the published rules, and a
rebuild/verify of the models read model (the replay fixture also checks every model stream)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import InvalidTaskStatus
from tasktrack.domain.model_errors import ModelCreatingTaskExists, ModelIsReady, ModelNotFound
from tasktrack.projections import rebuild, registry


def _task(client: Client, **kw: object) -> str:
    return str(client.create(name="trainer", type="training", **kw)["id"])


def test_create_get_update_publish_and_unpublish(client: Client) -> None:
    model = client.create_model(name="m", uri="file:///a", labels={"cat": 1}, ready=False)["id"]
    view = client.get_model(model)
    assert (view.name, view.uri, view.ready, view.labels) == ("m", "file:///a", False, {"cat": 1})
    assert client.edit_model(model=model, uri="file:///b", comment="c")["updated"] == 1
    assert client.get_model(model).uri == "file:///b"
    client.set_model_ready(model=model)
    assert client.get_model(model).ready is True
    with pytest.raises(ModelIsReady):
        client.set_model_ready(model=model)
    # Descriptive fields stay editable on a published model.
    assert client.update_model(model=model, name="renamed")["updated"] == 1
    assert [m.id for m in client.get_models(name="^renamed$")] == [model]
    # As in ClearML, a ready model stays editable; ready: false unpublishes it.
    changed = client.edit_model(model=model, ready=False, uri="file:///c")
    assert changed["fields"] == {"ready": False, "uri": "file:///c"}
    assert (client.get_model(model).ready, client.get_model(model).uri) == (False, "file:///c")


def test_a_model_is_created_ready_by_default(client: Client) -> None:
    """As ClearML's models.create: `ready` defaults to true."""
    model = client.create_model(name="m", uri="file:///a")["id"]
    assert client.get_model(model).ready is True


def test_update_for_task_links_the_output_model_and_raises_the_iteration(client: Client) -> None:
    task = _task(client)
    client.started(task=task)
    first = client.update_model_for_task(task=task, uri="file:///b", iteration=10)
    assert first["created"] is True
    again = client.update_model_for_task(task=task, uri="file:///c", iteration=5)
    assert (again["id"], again["created"]) == (first["id"], False)
    view = client.get_by_id(task)
    assert view.last_iteration == 10
    assert [m.model for m in view.models.output] == [first["id"]]  # type: ignore[union-attr]
    assert client.get_model(first["id"]).uri == "file:///c"
    assert client.get_model_by_task(task).id == first["id"]


def test_set_ready_publishes_a_stopped_task_but_not_a_running_one(client: Client) -> None:
    task = _task(client)
    client.started(task=task)
    model = client.update_model_for_task(task=task, uri="file:///b")["id"]
    with pytest.raises(InvalidTaskStatus):
        client.set_model_ready(model=model)
    assert client.get_model(model).ready is False  # nothing was written
    client.stopped(task=task)
    result = client.set_model_ready(model=model)
    assert result["published_task"]["id"] == task
    assert client.get_by_id(task).status == "published"


def test_delete_unlinks_or_marks_the_task(client: Client) -> None:
    task = _task(client)
    client.started(task=task)
    model = client.update_model_for_task(task=task, uri="file:///b")["id"]
    client.stopped(task=task)
    client.publish(task=task, publish_model=False)
    with pytest.raises(ModelCreatingTaskExists):
        client.delete_model(model=model)
    assert client.delete_model(model=model, force=True)["deleted"] is True
    with pytest.raises(ModelNotFound):
        client.get_model(model)
    outputs = client.get_by_id(task).models.output  # type: ignore[union-attr]
    assert [m.model for m in outputs] == [f"__DELETED__{model}"]


def test_many_commands_metadata_visibility_and_frameworks(client: Client) -> None:
    a = client.create_model(name="a", uri="u", framework="torch")["id"]
    b = client.create_model(name="b", uri="u", framework="jax")["id"]
    archived = client.archive_models(ids=[a, b, "nope"])
    assert [s["id"] for s in archived["succeeded"]] == [a, b]
    assert archived["failed"][0]["error"]["codes"] == [400, 201]
    assert "archived" in client.get_model(a).system_tags
    client.unarchive_models(ids=[a])
    client.add_or_update_model_metadata(model=a, metadata=[{"key": "k", "value": "1"}])
    client.delete_model_metadata(model=b, keys=["absent"])
    assert client.get_model(a).metadata == {"k": {"key": "k", "value": "1"}}
    with pytest.raises(ModelNotFound):
        client.make_models_private(ids=[a])
    assert client.make_models_public(ids=[a])["updated"] == 1
    with pytest.raises(ModelNotFound):
        client.update_model(model=a, name="x")
    client.make_models_private(ids=[a])
    assert {"jax", "torch"} <= set(client.get_model_frameworks())
    assert client.delete_many_models(ids=[a, b])["failed"] == []


def test_rebuild_and_verify_cover_models(client: Client, engine: Engine) -> None:
    model = client.create_model(name="m", uri="u")["id"]
    client.edit_model(model=model, comment="x", metadata=[{"key": "a", "value": "b"}])
    gone = client.create_model(name="gone", uri="u")["id"]
    client.delete_model(model=gone)
    specs = [registry.BY_NAME["models"]]
    assert rebuild.verify(engine, specs) == []
    rebuild.rebuild(engine, specs)
    assert rebuild.verify(engine, specs) == []
    assert client.get_model(model).comment == "x"


def test_an_output_model_inherits_the_tasks_project_and_framework(client: Client) -> None:
    project = client.create_project(name="frameworks")["id"]
    task = _task(client, project=project, execution={"framework": "fw2"})
    client.update_model_for_task(task=task, uri="file:///b", iteration=1)
    assert client.get_model_frameworks([project]) == ["fw2"]
