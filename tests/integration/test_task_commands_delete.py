"""tasks.delete and delete_many end to end (SEMANTICS §2 `delete`, §6 400/101 and 400/123)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import TaskNotFound
from tests.integration.task_commands_support import (
    UNKNOWN_ID,
    event_count,
    expect_error,
    failed_ids,
    new_task,
    snapshot,
    stream_types,
    succeeded_ids,
    task_in,
)


@pytest.mark.parametrize("status", ["queued", "in_progress", "stopped", "completed", "published"])
def test_delete_without_force_refuses_a_task_neither_created_nor_archived(
    client: Client, engine: Engine, status: str
) -> None:
    t = task_in(client, status)
    before = snapshot(client, engine, [t])
    expect_error((400, 123), client.delete, task=t)
    assert snapshot(client, engine, [t]) == before


def test_delete_without_force_takes_a_created_task(client: Client, engine: Engine) -> None:
    t = new_task(client)
    client.delete(task=t)
    expect_error((400, 101), client.get_by_id, t)
    assert stream_types(engine, t) == ["TaskCreated", "TaskDeleted"]


def test_delete_without_force_takes_an_archived_task(client: Client) -> None:
    t = task_in(client, "stopped")
    client.archive(tasks=[t])
    client.delete(task=t)
    expect_error((400, 101), client.get_by_id, t)


@pytest.mark.parametrize("status", ["queued", "in_progress", "completed", "published"])
def test_delete_with_force_takes_any_status(client: Client, status: str) -> None:
    t = task_in(client, status)
    client.delete(task=t, force=True)
    with pytest.raises(TaskNotFound):
        client.get_by_id(t)


def test_a_deleted_task_answers_101_to_every_read_and_write(client: Client, engine: Engine) -> None:
    t = task_in(client, "in_progress")
    client.delete(task=t, force=True)
    written = event_count(engine, client.caller.company)

    expect_error((400, 101), client.get_by_id, t)
    expect_error((400, 101), client.get_status_history, t)
    expect_error((400, 101), client.started, task=t, force=True)
    expect_error((400, 101), client.stopped, task=t, force=True)
    expect_error((400, 101), client.stop, task=t)
    expect_error((400, 101), client.edit, task=t, comment="x", force=True)
    expect_error((400, 101), client.update, task=t, comment="x")
    expect_error((400, 101), client.enqueue, task=t, queue_name="q")
    expect_error((400, 101), client.dequeue, task=t)
    expect_error((400, 101), client.reset, task=t, force=True)
    expect_error((400, 101), client.publish, task=t, force=True)
    expect_error((400, 101), client.delete, task=t, force=True)
    expect_error((400, 101), client.clone, task=t)
    expect_error((400, 101), client.update_tags, ids=[t], add_tags=["x"])
    expect_error((400, 101), client.set_requirements, task=t, requirements={"pip": []})
    expect_error(
        (400, 101),
        client.edit_hyper_params,
        task=t,
        hyperparams=[{"section": "s", "name": "n", "value": "v"}],
        force=True,
    )
    expect_error((400, 101), client.edit_configuration, task=t, configuration=[{"name": "c"}])
    expect_error(
        (400, 101), client.add_or_update_artifacts, task=t, artifacts=[{"key": "k", "type": "t"}]
    )
    expect_error(
        (400, 101), client.add_or_update_model, task=t, name="m", model="m1", type="output"
    )
    expect_error((400, 101), client.create, name="child", type="training", parent=t)
    many = client.reset_many(ids=[t], force=True)
    assert failed_ids(many) == [(t, [400, 101])]
    assert many["succeeded"] == []

    assert client.get_all() == []
    assert client.get_all(id=[t]) == []
    assert client.get_all(id=[t], search_hidden=True) == []
    assert event_count(engine, client.caller.company) == written


def test_a_deleted_task_keeps_its_events_and_leaves_the_read_models(
    client: Client, engine: Engine
) -> None:
    t = task_in(client, "stopped")
    assert len(client.get_status_history(t)) == 2
    client.delete(task=t, force=True, status_reason="cleanup")

    assert stream_types(engine, t) == ["TaskCreated", "TaskStarted", "TaskStopped", "TaskDeleted"]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM tasks WHERE id = %s", (t,)).scalar_one()
        history = conn.exec_driver_sql(
            "SELECT count(*) FROM task_status_history WHERE task_id = %s", (t,)
        ).scalar_one()
    assert (rows, history) == (0, 0)


def test_children_of_a_deleted_task_point_at_its_tombstone(client: Client, engine: Engine) -> None:
    parent = new_task(client, name="parent")
    kids = [new_task(client, name=f"kid {i}", parent=parent) for i in range(2)]
    other = new_task(client, name="unrelated")
    client.delete(task=parent)

    for kid in kids:
        assert client.get_by_id(kid).parent == f"__DELETED__{parent}"
        assert stream_types(engine, kid)[-1] != "TaskDeleted"
    assert client.get_by_id(other).parent is None
    assert client.get_all(parent=[parent]) == []
    assert sorted(v.id for v in client.get_all(parent=[f"__DELETED__{parent}"])) == sorted(kids)


def test_delete_many_takes_the_allowed_and_refuses_the_rest(client: Client, engine: Engine) -> None:
    created = new_task(client, name="created")
    running = task_in(client, "in_progress")
    archived = task_in(client, "completed")
    client.archive(tasks=[archived])
    queued = task_in(client, "queued")
    running_before = snapshot(client, engine, [running, queued])

    result = client.delete_many(ids=[running, created, UNKNOWN_ID, archived, queued])

    assert succeeded_ids(result) == [created, archived]
    assert failed_ids(result) == [
        (running, [400, 123]),
        (UNKNOWN_ID, [400, 101]),
        (queued, [400, 123]),
    ]
    for gone in (created, archived):
        expect_error((400, 101), client.get_by_id, gone)
        assert stream_types(engine, gone)[-1] == "TaskDeleted"
    after = snapshot(client, engine, [running, queued])
    assert after.tasks == running_before.tasks
    assert after.histories == running_before.histories
    assert {v.id for v in client.get_all()} == {running, queued}


def test_delete_many_with_force_takes_every_known_task(client: Client) -> None:
    ids = [task_in(client, s) for s in ("in_progress", "queued", "published")]
    result = client.delete_many(ids=ids, force=True)
    assert succeeded_ids(result) == ids
    assert result["failed"] == []
    assert client.get_all() == []


def test_delete_many_of_a_parent_and_its_child(client: Client) -> None:
    parent = new_task(client, name="parent")
    child = new_task(client, name="child", parent=parent)
    survivor = new_task(client, name="survivor", parent=parent)
    result = client.delete_many(ids=[parent, child])
    assert succeeded_ids(result) == [parent, child]
    assert [v.id for v in client.get_all()] == [survivor]
    assert client.get_by_id(survivor).parent == f"__DELETED__{parent}"


def test_a_retried_delete_many_returns_the_first_answer(client: Client, engine: Engine) -> None:
    gone = new_task(client, name="to delete")
    running = task_in(client, "in_progress")
    first = client.delete_many(ids=[gone, running], request_id="delete-once")
    assert succeeded_ids(first) == [gone]
    assert failed_ids(first) == [(running, [400, 123])]
    written = event_count(engine, client.caller.company)

    again = client.delete_many(ids=[gone, running], request_id="delete-once")

    assert again == first
    assert event_count(engine, client.caller.company) == written
