"""A queue's history and the waits in its line, read from the log on PostgreSQL: who put which
task in line, which worker it was handed to, how long it waited; one company's queues only."""

from __future__ import annotations

import time

import pytest

from tasktrack.api import Client
from tasktrack.domain.errors import BadFilter, QueueNotFound


def _task(client: Client, name: str) -> str:
    return str(client.create(name=name, type="training")["id"])


def test_history_and_waits_name_the_users_and_the_worker(client: Client) -> None:
    queue = str(client.create_queue(name="gpu-hist")["id"])
    bob = client.as_caller(client.caller.company, "bob")
    first, second, third = (_task(client, n) for n in ("first", "second", "third"))
    client.enqueue(task=first, queue=queue)
    bob.enqueue(task=second, queue=queue)
    client.enqueue(task=third, queue=queue)
    client.move_task_to_front(queue=queue, task=third)
    time.sleep(0.05)  # a wait that a clock can see
    agent = client.as_caller(client.caller.company, "agent")
    assert agent.get_next_task(queue=queue)["entry"]["task"] == third
    agent.worker_status_report(worker="box:0", task=third, queue=queue)
    bob.dequeue(task=second)
    assert agent.get_next_task(queue=queue)["entry"]["task"] == first  # nobody reports it

    found = client.queue_history("gpu-hist")  # by name
    assert found.queue.id == queue
    assert found.queue.entries == []
    assert found.total_steps == 8
    assert [(s.what, s.by, s.task, s.worker) for s in found.steps] == [
        ("created", "alice", None, None),
        ("entered", "alice", first, None),
        ("entered", "bob", second, None),
        ("entered", "alice", third, None),
        ("moved", "alice", third, None),
        ("handed_out", "agent", third, "box:0"),
        ("removed", "bob", second, None),
        ("handed_out", "agent", first, None),
    ]
    assert [s.what for s in client.queue_history(queue, limit=2).steps] == [
        "removed",
        "handed_out",
    ]

    waits = client.queue_line_waits(queue)
    assert [(w.task, w.outcome, w.worker, w.entered_by) for w in waits] == [
        (first, "handed_out", None, "alice"),
        (second, "removed", None, "bob"),
        (third, "handed_out", "box:0", "alice"),
    ]
    for w in waits:
        assert w.left_at is not None
        assert w.wait_seconds is not None
        assert w.wait_seconds == pytest.approx((w.left_at - w.entered_at).total_seconds())
        assert w.wait_seconds >= 0.05
    # By name too, and every queue of the company when none is named.
    assert client.queue_line_waits("gpu-hist") == waits
    assert {w.task for w in client.queue_line_waits()} >= {first, second, third}
    assert client.queue_line_waits(queue, since=waits[-1].entered_at) == [waits[-1]]
    assert client.queue_line_waits(queue, until=waits[0].entered_at) == []
    assert client.queue_line_waits(queue, limit=1) == waits[:1]


def test_a_task_still_in_line_waits_so_far(client: Client) -> None:
    queue = str(client.create_queue(name="cpu-hist")["id"])
    task = _task(client, "waiting")
    client.enqueue(task=task, queue=queue)
    (wait,) = client.queue_line_waits(queue)
    assert (wait.task, wait.outcome, wait.left_at, wait.wait_seconds) == (task, None, None, None)
    assert wait.seconds_so_far >= 0
    shown = client.queue_history(queue)
    assert [e.task for e in shown.queue.entries] == [task]


def test_another_companys_queue_is_not_found_and_bad_windows_are_refused(
    client: Client,
) -> None:
    queue = str(client.create_queue(name="private-hist")["id"])
    other = client.as_caller(client.caller.company + "-other", "eve")
    for call in (
        lambda: other.queue_history(queue),
        lambda: other.queue_history("private-hist"),
        lambda: other.queue_line_waits(queue),
        lambda: client.queue_history("no-such-queue"),
    ):
        with pytest.raises(QueueNotFound):
            call()
    with pytest.raises(BadFilter):
        client.queue_line_waits(queue, since="2026-12-02T00:00:00Z", until="2026-12-01T00:00:00Z")
    with pytest.raises(BadFilter):
        client.queue_history(queue, limit=0)
