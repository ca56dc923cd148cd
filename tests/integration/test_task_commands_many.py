"""The *_many commands end to end: reset, publish, stop, archive/unarchive (SEMANTICS §2, §6)."""

from __future__ import annotations

from msgspec import UNSET
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.queries.views import ScriptView
from tests.integration.task_commands_support import (
    UNKNOWN_ID,
    event_count,
    expect_error,
    failed_ids,
    new_task,
    queue_of,
    queue_rows,
    snapshot,
    succeeded_ids,
    task_in,
)


def test_many_answers_per_id_in_input_order_and_a_failure_stops_nothing(
    client: Client, engine: Engine
) -> None:
    a, b, c = (task_in(client, "stopped", name=f"task {i}") for i in range(3))
    created = new_task(client, name="not publishable")
    ids = [c, created, a, UNKNOWN_ID, b]
    before = snapshot(client, engine, [created])

    result = client.publish_many(ids=ids)

    assert succeeded_ids(result) == [c, a, b]
    assert failed_ids(result) == [(created, [400, 110]), (UNKNOWN_ID, [400, 101])]
    for failure in result["failed"]:
        assert isinstance(failure["error"]["msg"], str)
        assert failure["error"]["msg"]
        assert isinstance(failure["error"]["data"], dict)
    for t in (a, b, c):
        task = client.get_by_id(t)
        assert task.status == "published"
        assert task.published is not None
        assert [(h.from_status, h.to_status) for h in client.get_status_history(t)][-2:] == [
            ("stopped", "publishing"),
            ("publishing", "published"),
        ]
    after = snapshot(client, engine, [created])
    assert (after.tasks, after.histories) == (before.tasks, before.histories)


def test_publish_many_with_force_publishes_a_created_task(client: Client) -> None:
    t = new_task(client)
    result = client.publish_many(ids=[t], force=True)
    assert succeeded_ids(result) == [t]
    assert client.get_by_id(t).status == "published"


def test_a_retried_many_returns_the_first_answer_and_writes_nothing(
    client: Client, engine: Engine
) -> None:
    a, b = task_in(client, "in_progress", name="first"), task_in(client, "queued", name="second")
    first = client.stop_many(ids=[b, UNKNOWN_ID, a], request_id="stop-them")
    assert succeeded_ids(first) == [b, a]
    assert failed_ids(first) == [(UNKNOWN_ID, [400, 101])]
    client.reset(task=a)  # if the retry ran again, it would now stop `a` a second time
    written = event_count(engine, client.caller.company)
    state = snapshot(client, engine, [a, b])

    again = client.stop_many(ids=[b, UNKNOWN_ID, a], request_id="stop-them")

    assert again == first
    assert event_count(engine, client.caller.company) == written
    assert snapshot(client, engine, [a, b]) == state
    assert client.get_by_id(a).status == "created"


def test_a_retried_enqueue_many_makes_its_queue_once(client: Client, engine: Engine) -> None:
    a, b = new_task(client, name="first"), new_task(client, name="second")
    first = client.enqueue_many(ids=[a, b], queue_name="fresh", request_id="enq-1")
    assert succeeded_ids(first) == [a, b]
    client.dequeue(task=a)
    written = event_count(engine, client.caller.company)

    again = client.enqueue_many(ids=[a, b], queue_name="fresh", request_id="enq-1")

    assert again == first
    assert event_count(engine, client.caller.company) == written
    assert client.get_by_id(a).status == "created"
    assert [name for name, _ in queue_rows(engine, client.caller.company)] == ["fresh"]


def test_reset_many_clears_the_run_and_keeps_the_definition(client: Client) -> None:
    parent = new_task(client, name="the parent")
    t = new_task(
        client,
        name="rich task",
        comment="keep me",
        tags=["t1"],
        system_tags=["s1"],
        parent=parent,
        project="proj",
        container={"image": "python:3.12"},
        hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
        configuration={"cfg": {"name": "cfg", "value": "x=1"}},
        models={"input": [{"name": "in", "model": "model-in"}]},
        runtime={"gpu": "a100"},
    )
    client.started(task=t)
    client.worker_status_report(worker="w1", task=t)
    client.add_or_update_artifacts(
        task=t,
        artifacts=[
            {"key": "data", "type": "csv", "mode": "input"},
            {"key": "weights", "type": "bin", "mode": "output"},
        ],
    )
    client.add_or_update_model(task=t, name="out", model="model-out", type="output", iteration=7)
    client.update(task=t, output={"error": "boom"})
    client.completed(task=t)
    queued = task_in(client, "queued", name="queued task")
    published = task_in(client, "published", name="published task")
    before_reset = client.get_by_id(t)
    assert before_reset.last_iteration == 7

    result = client.reset_many(ids=[published, t, UNKNOWN_ID, queued])

    assert succeeded_ids(result) == [t, queued]
    assert failed_ids(result) == [(published, [400, 110]), (UNKNOWN_ID, [400, 101])]
    assert client.get_by_id(published).status == "published"
    task = client.get_by_id(t)
    assert task.status == "created"
    assert (task.status_reason, task.status_message) == ("reset", "reset")
    assert (task.started, task.completed, task.published) == (None, None, None)
    assert (task.last_worker, task.last_worker_report) == (None, None)
    assert not task.last_iteration
    assert not task.active_duration
    assert not task.runtime
    assert task.enqueue_status is None
    assert queue_of(task) is None
    assert task.execution is not None
    assert task.execution.artifacts is not UNSET
    assert [(a.key, a.mode) for a in task.execution.artifacts] == [("data", "input")]
    assert task.models is not None
    assert task.models.output in (UNSET, [])
    assert before_reset.models is not None
    assert [(m.name, m.model) for m in before_reset.models.output or []] == [("out", "model-out")]
    assert [(m.name, m.model) for m in task.models.input or []] == [("in", "model-in")]
    assert task.output is None or task.output.error in (UNSET, None, "")
    kept = ("name", "comment", "tags", "system_tags", "hyperparams", "configuration")
    for field in (*kept, "parent", "project", "container"):
        assert getattr(task, field) == getattr(before_reset, field), field
    last = client.get_status_history(t)[-1]
    assert (last.from_status, last.to_status, last.reason) == ("completed", "created", "reset")
    q = client.get_by_id(queued)
    assert (q.status, queue_of(q)) == ("created", None)


def test_reset_with_clear_all_drops_every_artifact_and_the_script(client: Client) -> None:
    t = new_task(client, script={"repository": "git@example.com:x.git", "entry_point": "a.py"})
    client.add_or_update_artifacts(
        task=t, artifacts=[{"key": "data", "type": "csv", "mode": "input"}]
    )
    client.started(task=t)
    client.reset(task=t, clear_all=True)
    task = client.get_by_id(t)
    assert task.execution is None or task.execution.artifacts in (UNSET, [])
    assert task.script == ScriptView()  # only the defaults ClearML's Script document holds


def test_reset_many_with_force_resets_a_published_task(client: Client) -> None:
    t = task_in(client, "published")
    assert succeeded_ids(client.reset_many(ids=[t], force=True)) == [t]
    assert client.get_by_id(t).status == "created"


def test_archive_many_takes_tasks_out_of_queues_and_runs(client: Client) -> None:
    queued = task_in(client, "stopped", name="was stopped")
    client.enqueue(task=queued, queue_name="q")
    running = task_in(client, "in_progress", name="running")
    created = new_task(client, name="idle")
    before = client.get_by_id(created)

    result = client.archive_many(
        ids=[running, UNKNOWN_ID, queued, created], status_reason="tidy", status_message="bye"
    )

    assert succeeded_ids(result) == [running, queued, created]
    assert failed_ids(result) == [(UNKNOWN_ID, [400, 101])]
    expected = {queued: "stopped", running: "stopped", created: "created"}
    for t, status in expected.items():
        task = client.get_by_id(t)
        assert task.status == status, t
        assert "archived" in task.system_tags
        assert (task.status_reason, task.status_message) == ("tidy", "bye")
        assert queue_of(task) is None
    idle = client.get_by_id(created)
    assert idle.last_change is not None
    assert before.last_change is not None
    assert idle.last_change > before.last_change
    assert {v.id for v in client.get_all()} == set(expected)
    assert {v.id for v in client.get_all(system_tags=["archived"])} == set(expected)


def test_archive_answers_the_number_archived(client: Client) -> None:
    ids = [new_task(client, name=f"task {i}") for i in range(2)]
    assert client.archive(tasks=ids) == {"archived": 2}
    assert all("archived" in client.get_by_id(t).system_tags for t in ids)


def test_unarchive_many_removes_the_tag_and_writes_the_reason(client: Client) -> None:
    t = task_in(client, "stopped", system_tags=["keep"])
    client.archive_many(ids=[t])
    result = client.unarchive_many(
        ids=[UNKNOWN_ID, t], status_reason="needed", status_message="back"
    )
    assert succeeded_ids(result) == [t]
    assert failed_ids(result) == [(UNKNOWN_ID, [400, 101])]
    task = client.get_by_id(t)
    assert task.system_tags == ["keep"]
    assert task.status == "stopped"
    assert (task.status_reason, task.status_message) == ("needed", "back")
    expect_error((400, 123), client.delete, task=t)


def test_hidden_tasks_are_left_out_unless_asked_for(client: Client) -> None:
    shown = new_task(client, name="shown")
    hidden = new_task(client, name="hidden", system_tags=["hidden"])
    archived = new_task(client, name="archived")
    client.archive(tasks=[archived])

    assert {v.id for v in client.get_all()} == {shown, archived}
    assert {v.id for v in client.get_all(search_hidden=True)} == {shown, hidden, archived}
    assert [v.id for v in client.get_all(id=[hidden])] == [hidden]
    assert client.get_all(system_tags=["hidden"]) == []
    assert client.get_by_id(hidden).system_tags == ["hidden"]
