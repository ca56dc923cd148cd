"""tasks.delete / reset against PostgreSQL, beyond the model links (test_task_model_links.py):
published children refuse them without force (400/123, nothing written), a delete answers the
files to delete (`return_file_urls`), and a child of a deleted task still validates."""

from __future__ import annotations

from sqlalchemy import Engine

from tasktrack.api import Client
from tests.integration.task_commands_support import event_count, expect_error, new_task, task_in


def test_published_children_keep_a_task_unless_forced(client: Client, engine: Engine) -> None:
    parent = new_task(client)
    child = task_in(client, "published", parent=parent)
    written = event_count(engine, client.caller.company)
    expect_error((400, 123), client.delete, task=parent)
    expect_error((400, 123), client.reset, task=parent)
    failed = client.delete_many(ids=[parent])["failed"]
    assert [f["error"]["codes"] for f in failed] == [[400, 123]]
    assert event_count(engine, client.caller.company) == written
    answer = client.delete(task=parent, force=True)
    assert (answer["deleted"], answer["updated_children"], answer.get("urls")) == (True, 1, None)
    assert client.get_by_id(child).parent == f"__DELETED__{parent}"


def test_delete_names_the_files_with_return_file_urls(client: Client) -> None:
    task = new_task(client)
    draft = client.create_model(name="m", uri="file:///draft", labels={}, ready=False)["id"]
    client.edit_model(model=draft, task=task)
    client.add_or_update_artifacts(
        task=task,
        artifacts=[
            {"key": "a", "type": "str", "uri": "file:///in", "mode": "input"},
            {"key": "b", "type": "str", "uri": "file:///out"},
        ],
    )
    answer = client.delete(task=task, return_file_urls=True)
    assert answer["deleted_models"] == 1
    assert answer["urls"] == {
        "model_urls": ["file:///draft"],
        "event_urls": [],
        "artifact_urls": ["file:///out"],
    }
    many = client.delete_many(ids=[new_task(client)], return_file_urls=True)
    assert many["succeeded"][0]["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": []}


def test_a_child_of_a_deleted_task_still_validates(client: Client) -> None:
    parent = new_task(client)
    child = new_task(client, parent=parent)
    client.delete(task=parent)
    tombstone = client.get_by_id(child).parent
    assert tombstone == f"__DELETED__{parent}"
    assert client.validate(name="again", type="training", parent=tombstone) == {}
    expect_error((400, 101), client.validate, name="again", type="training", parent=parent)
