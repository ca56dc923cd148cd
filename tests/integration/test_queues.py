"""The queues service end to end: streams, the waiting line, ClearML's answers and codes, and
task commands keeping the lines in step (after every test the replay check folds each queue
stream written and compares it with its row and its line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.service import Caller
from tests.integration.task_commands_support import expect_error, new_task, stream_types


def _line(client: Client, queue: str) -> list[str]:
    return [e.task for e in client.get_queue(queue).entries]


def _queued(client: Client, queue: str, n: int) -> list[str]:
    tasks = [new_task(client, f"task {i}") for i in range(n)]
    for t in tasks:
        client.enqueue(task=t, queue=queue)
    return tasks


def test_a_queue_is_a_stream_of_its_changes(client: Client, engine: Engine) -> None:
    q = str(client.create_queue(name="stream", tags=["b", "a"], display_name="Stream")["id"])
    assert client.update_queue(queue=q, name="renamed", tags=["x"]) == {
        "updated": 1,
        "fields": {"name": "renamed", "tags": ["x"]},
    }
    client.add_or_update_queue_metadata(queue=q, metadata=[{"key": "k", "value": "v"}])
    t = new_task(client)
    client.enqueue(task=t, queue=q)
    client.get_next_task(queue=q)

    view = client.get_queue(q)
    assert (view.name, view.display_name, view.tags) == ("renamed", "Stream", ["x"])
    assert view.metadata == {"k": {"key": "k", "value": "v"}}
    assert stream_types(engine, q) == [
        "QueueCreated",
        "QueueUpdated",
        "QueueMetadataChanged",
        "QueueTaskAdded",
    ]  # the handout is a fact of the task's stream, which names the queue
    assert stream_types(engine, t)[-1] == "TaskHandedOut"
    with engine.connect() as conn:
        data = conn.exec_driver_sql(
            "SELECT data::jsonb FROM events WHERE stream_id = %s AND type = 'TaskHandedOut'",
            (t,),
        ).scalar_one()
    assert (data["queue"], data["queue_version"], data["by"]) == (q, 4, "alice")


def test_refusals_carry_clearmls_codes_and_change_nothing(client: Client) -> None:
    q = str(client.create_queue(name="codes")["id"])
    t = new_task(client)
    expect_error((400, 801), client.create_queue, name="codes")
    expect_error((400, 800), client.create_queue, name="ab")
    expect_error((400, 701), client.get_queue, "no-such-queue")
    expect_error((400, 701), client.get_next_task, queue="no-such-queue")
    expect_error((400, 701), client.enqueue, task=t, queue="no-such-queue")
    expect_error((400, 703), client.remove_task_from_queue, queue=q, task=t)
    expect_error((400, 703), client.move_task_to_front, queue=q, task=t)
    client.enqueue(task=t, queue=q)
    expect_error((400, 706), client.add_task_to_queue, queue=q, task=t)
    expect_error((400, 706), client.enqueue, task=t, queue=q)
    expect_error((400, 702), client.delete_queue, queue=q)
    assert _line(client, q) == [t]


def test_the_line_keeps_its_order_through_moves_and_handouts(
    client: Client, own_engine: Engine
) -> None:
    q = str(client.create_queue(name="order")["id"])
    a, b, c, d = _queued(client, q, 4)
    assert client.move_task_backward(queue=q, task=a, count=2) == {"position": 2}
    assert _line(client, q) == [b, c, a, d]
    assert client.move_task_to_back(queue=q, task=b) == {"position": 3}
    assert client.move_task_forward(queue=q, task=d, count=100) == {"position": 0}
    assert _line(client, q) == [d, c, a, b]
    assert client.get_next_task(queue=q)["entry"]["task"] == d
    e = new_task(client, "late")
    client.enqueue(task=e, queue=q)  # enters after the renumbered line
    assert _line(client, q) == [c, a, b, e]
    assert client.peek_task(q) == c
    assert client.get_num_entries(q) == 4
    # The fast replay path (stream by stream, rows COPYed) gives the same line and ranks.
    own = Client(own_engine, Caller(company="acme", user="alice"))
    q2 = str(own.create_queue(name="order")["id"])
    tasks = _queued(own, q2, 3)
    own.move_task_to_front(queue=q2, task=tasks[2])
    own.get_next_task(queue=q2)
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []


def test_task_commands_take_the_task_out_of_its_queue(client: Client) -> None:
    q = str(client.create_queue(name="leaving")["id"])
    dequeued, stopped, reset, archived, deleted, staying = _queued(client, q, 6)
    client.dequeue(task=dequeued)
    client.stop(task=stopped)
    assert client.reset(task=reset)["dequeued"] == {"removed": 1}
    client.archive(tasks=[archived])
    client.delete(task=deleted, force=True)
    assert _line(client, q) == [staying]
    other = str(client.create_queue(name="other")["id"])
    client.enqueue(task=staying, queue=other)  # a queued task enqueued elsewhere moves
    assert (_line(client, q), _line(client, other)) == ([], [staying])
    assert client.get_by_id(staying).status == "queued"


def test_enqueue_many_without_a_queue_uses_the_default_queue(client: Client) -> None:
    tasks = [new_task(client, f"task {i}") for i in range(3)]
    client.enqueue_many(ids=tasks)
    default = client.get_default_queue()
    assert default["name"] == "default"
    assert _line(client, str(default["id"])) == tasks
    assert client.get_default_queue() == default  # one default queue per company
    assert [q.system_tags for q in client.get_queues(name="^default$")] == [["default"]]


def test_two_default_queues_are_refused_with_708(client: Client) -> None:
    client.create_queue(name="one", system_tags=["default"])
    client.create_queue(name="two", system_tags=["default"])
    expect_error((400, 708), client.get_default_queue)


def test_remove_clear_and_forced_delete_send_tasks_back(client: Client) -> None:
    q = str(client.create_queue(name="back")["id"])
    kept, sent, cleared = _queued(client, q, 3)
    assert client.remove_task_from_queue(queue=q, task=kept) == {"removed": 1}
    assert client.get_by_id(kept).status == "queued"  # ClearML: the task itself is untouched
    client.remove_task_from_queue(queue=q, task=sent, update_task_status=True)
    assert client.get_by_id(sent).status == "created"
    assert client.clear_queue(queue=q) == {"removed_tasks": [cleared]}
    assert client.get_by_id(cleared).status == "created"
    waiting = _queued(client, q, 1)[0]
    assert client.delete_queue(queue=q, force=True) == {"deleted": 1}
    assert client.get_by_id(waiting).status == "created"
    expect_error((400, 701), client.get_queue, q)


def test_hidden_queues_need_to_be_asked_for(client: Client) -> None:
    hidden = str(client.create_queue(name="hidden", system_tags=["k8s-glue"])["id"])
    assert hidden not in {q.id for q in client.get_queues()}
    assert hidden in {q.id for q in client.get_queues(search_hidden=True)}
    assert [q.id for q in client.get_queues(id=[hidden])] == [hidden]


def test_queue_metrics_come_from_the_log(client: Client) -> None:
    q = str(client.create_queue(name="metrics")["id"])
    _queued(client, q, 2)
    client.get_next_task(queue=q)
    now = datetime.now(UTC)
    found = client.get_queue_metrics(
        from_date=(now - timedelta(hours=1)).timestamp(),
        to_date=now.timestamp() + 1,
        interval=3600,
        queue_ids=[q],
    )
    assert len(found) == 1
    assert found[0].queue == q
    # One bucket (aligned to the hour), with the sample of the longest average wait in it.
    assert len(found[0].dates) == 1
    assert found[0].dates[0] % 3_600_000 == 0
    assert found[0].queue_lengths[0] in (1, 2)
    assert found[0].avg_waiting_times[0] > 0
    expect_error(
        (400, 16),
        client.get_queue_metrics,
        from_date=now.timestamp(),
        to_date=now.timestamp(),
        interval=5,
    )


def test_add_task_enqueues_a_task_that_is_not_queued(client: Client) -> None:
    q = str(client.create_queue(name="added")["id"])
    created, running = new_task(client, "created one"), new_task(client, "running one")
    client.started(task=running)
    assert client.add_task_to_queue(queue=q, task=created) == {"added": 1}
    view = client.get_by_id(created)
    assert (view.status, view.execution.queue if view.execution else None) == ("queued", q)
    expect_error((400, 110), client.add_task_to_queue, queue=q, task=running)
    assert _line(client, q) == [created]
