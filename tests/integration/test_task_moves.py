"""tasks.move, tasks.clone into a project by name, models.move by name, and public tasks,
against PostgreSQL (the replay fixture checks every stream these tests write)."""

from __future__ import annotations

from sqlalchemy import Engine

from tasktrack.api import Client
from tests.integration.task_commands_support import (
    event_count,
    expect_error,
    new_task,
    stream_types,
    task_in,
)


def _project_named(client: Client, name: str) -> str:
    found = [p.id for p in client.get_projects(name=f"^{name}$")]
    assert len(found) == 1, found
    return found[0]


def test_move_by_name_creates_the_project_and_its_parents(client: Client, engine: Engine) -> None:
    tasks = [new_task(client), new_task(client)]
    answer = client.move_tasks(ids=tasks, project_name="moves/into")
    project = answer["project_id"]
    assert project == _project_named(client, "moves/into")
    _project_named(client, "moves")  # the missing parent, created with it
    assert {client.get_by_id(t).project for t in tasks} == {project}
    assert stream_types(engine, tasks[0])[-1] == "TaskMoved"
    again = client.move_tasks(ids=tasks, project_name="moves/into")  # found, not created again
    assert again["project_id"] == project
    assert stream_types(engine, tasks[0]).count("TaskMoved") == 1  # no change, no event


def test_move_by_id_and_to_no_project(client: Client, engine: Engine) -> None:
    project = client.create_project(name="moves by id")["id"]
    task = new_task(client)
    assert client.move_tasks(ids=[task], project=project) == {"project_id": project}
    assert client.get_by_id(task).project == project
    assert client.move_tasks(ids=[task], project=None) == {"project_id": None}
    assert client.get_by_id(task).project is None
    written = event_count(engine, client.caller.company)
    expect_error((400, 401), client.move_tasks, ids=[task], project="f" * 32)
    expect_error((400, 11), client.move_tasks, ids=[task])
    expect_error((400, 101), client.move_tasks, ids=[task, "f" * 32], project_name="never")
    assert event_count(engine, client.caller.company) == written  # nothing, not even a project


def test_clone_into_a_project_by_name(client: Client) -> None:
    source = task_in(client, "stopped")
    answer = client.clone(task=source, new_project_name="clones here")
    project = _project_named(client, "clones here")
    assert answer["new_project"] == {"id": project, "name": "clones here"}
    assert client.get_by_id(answer["id"]).project == project
    plain = client.clone(task=source)
    assert "new_project" not in plain


def test_models_move_by_name_creates_the_project(client: Client) -> None:
    model = str(client.create_model(name="m", uri="file:///m", labels={})["id"])
    answer = client.move_models(ids=[model], project_name="model home")
    assert answer["project_id"] == _project_named(client, "model home")
    assert client.get_model(model).project == answer["project_id"]


def test_a_public_task_is_read_only_until_made_private(client: Client, engine: Engine) -> None:
    task = task_in(client, "in_progress")
    expect_error((400, 101), client.make_tasks_private, ids=[task])  # not public
    assert client.make_tasks_public(ids=[task]) == {"updated": 1}
    assert client.get_by_id(task).id == task  # still read
    assert [t.id for t in client.get_all(id=[task])] == [task]
    written = event_count(engine, client.caller.company)
    expect_error((403, 21), client.stopped, task=task)
    expect_error((403, 21), client.update_tags, ids=[task], add_tags=["x"])
    expect_error((403, 21), client.move_tasks, ids=[task], project=None)
    expect_error((403, 21), client.delete, task=task, force=True)
    scalar = {"task": task, "type": "training_stats_scalar", "metric": "m", "value": 1}
    expect_error((400, 131), client.add_events, events=[scalar])
    expect_error((403, 21), client.update_model_for_task, task=task, uri="file:///w")
    assert event_count(engine, client.caller.company) == written
    assert client.make_tasks_public(ids=[task]) == {"updated": 0}
    assert client.make_tasks_private(ids=[task]) == {"updated": 1}
    client.stopped(task=task)
    assert client.get_by_id(task).status == "stopped"
    assert stream_types(engine, task).count("TaskVisibilityChanged") == 2


def test_another_company_cannot_publish_or_read_a_public_task(client: Client) -> None:
    task = new_task(client)
    stranger = client.as_caller(f"{client.caller.company}-other", "mallory")
    expect_error((400, 101), stranger.make_tasks_public, ids=[task])
    client.make_tasks_public(ids=[task])
    expect_error((400, 101), stranger.make_tasks_private, ids=[task])
    expect_error((400, 101), stranger.get_by_id, task)  # public stays within its company
    assert client.make_tasks_private(ids=[task]) == {"updated": 1}
