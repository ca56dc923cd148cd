"""stop, enqueue, dequeue and their *_many variants end to end (SEMANTICS §1 queues, §2)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tests.integration.task_commands_support import (
    UNKNOWN_ID,
    codes,
    expect_error,
    failed_ids,
    new_task,
    queue_of,
    queue_rows,
    snapshot,
    succeeded_ids,
    task_in,
)

# --- stop ------------------------------------------------------------------------------------


def test_stop_with_a_live_worker_only_asks_the_worker(client: Client) -> None:
    t = task_in(client, "in_progress")
    client.worker_status_report(worker="w1", task=t)
    history = client.get_status_history(t)

    client.stop(task=t, status_reason="user asked", status_message="my own message")

    task = client.get_by_id(t)
    assert task.status == "in_progress"
    assert task.status_message == "stopping"
    assert task.status_reason == "user asked"
    assert client.get_status_history(t) == history
    client.stopped(task=t)
    task = client.get_by_id(t)
    assert task.status == "stopped"
    assert (task.status_reason, task.status_message) == ("", "")  # omitted: cleared


def test_stop_without_a_worker_report_stops_at_once(client: Client) -> None:
    t = task_in(client, "in_progress")
    client.stop(task=t, status_reason="enough", status_message="my own message")

    task = client.get_by_id(t)
    assert task.status == "stopped"
    assert task.status_message == "Stopped by alice"
    assert task.status_reason == "enough"
    last = client.get_status_history(t)[-1]
    assert (last.from_status, last.to_status, last.user) == ("in_progress", "stopped", "alice")
    assert (last.reason, last.message) == ("enough", "Stopped by alice")


def test_stop_of_a_development_task_stops_at_once_even_with_a_live_worker(client: Client) -> None:
    t = task_in(client, "in_progress", system_tags=["development"])
    client.worker_status_report(worker="w1", task=t)
    client.stop(task=t)
    task = client.get_by_id(t)
    assert task.status == "stopped"
    assert task.status_message == "Stopped by alice"


def test_stop_of_a_queued_task_stops_it_and_takes_it_out_of_its_queue(client: Client) -> None:
    t = task_in(client, "queued")
    client.worker_status_report(worker="w1", task=t)  # a queued task stops at once regardless
    assert queue_of(client.get_by_id(t)) is not None

    client.stop(task=t)

    task = client.get_by_id(t)
    assert task.status == "stopped"
    assert task.status_message == "Stopped by alice"
    assert queue_of(task) is None
    assert client.get_all(status=["queued"]) == []


# --- enqueue ---------------------------------------------------------------------------------


def test_enqueue_by_name_creates_the_queue_once_and_reuses_it(
    client: Client, engine: Engine
) -> None:
    a, b = new_task(client, name="first"), new_task(client, name="second")
    assert queue_rows(engine, client.caller.company) == []

    client.enqueue(task=a, queue_name="gpu")
    client.enqueue(task=b, queue_name="gpu")

    qa, qb = queue_of(client.get_by_id(a)), queue_of(client.get_by_id(b))
    assert qa is not None
    assert qa == qb
    assert queue_rows(engine, client.caller.company) == [("gpu", qa)]
    task = client.get_by_id(a)
    assert (task.status, task.enqueue_status) == ("queued", "created")


def test_enqueue_by_the_id_of_an_existing_queue(client: Client) -> None:
    a, b = new_task(client, name="first"), new_task(client, name="second")
    client.enqueue(task=a, queue_name="cpu")
    queue = queue_of(client.get_by_id(a))
    result = client.enqueue(task=b, queue=queue)
    assert result["queued"] == 1
    assert queue_of(client.get_by_id(b)) == queue


def test_enqueue_by_an_unknown_queue_id_is_701(client: Client, engine: Engine) -> None:
    t = new_task(client)
    before = snapshot(client, engine, [t])
    expect_error((400, 701), client.enqueue, task=t, queue=UNKNOWN_ID)
    assert snapshot(client, engine, [t]) == before


def test_queues_are_per_company(client: Client) -> None:
    mine = new_task(client)
    client.enqueue(task=mine, queue_name="shared-name")
    queue = queue_of(client.get_by_id(mine))
    other = client.as_caller(f"{client.caller.company}-other", "bob")
    theirs = new_task(other)
    expect_error((400, 701), other.enqueue, task=theirs, queue=queue)
    other.enqueue(task=theirs, queue_name="shared-name")
    assert queue_of(other.get_by_id(theirs)) not in (None, queue)


def test_enqueue_with_queue_and_queue_name_is_12(client: Client, engine: Engine) -> None:
    t = new_task(client)
    client.enqueue(task=new_task(client, name="other"), queue_name="q")
    queue = queue_of(client.get_all(status=["queued"])[0])
    before = snapshot(client, engine, [t])
    expect_error((400, 12), client.enqueue, task=t, queue=queue, queue_name="q")
    assert snapshot(client, engine, [t]) == before


def test_enqueue_into_the_queue_it_is_in_is_706(client: Client, engine: Engine) -> None:
    t = new_task(client)
    client.enqueue(task=t, queue_name="q")
    queue = queue_of(client.get_by_id(t))
    before = snapshot(client, engine, [t])
    expect_error((400, 706), client.enqueue, task=t, queue_name="q")
    expect_error((400, 706), client.enqueue, task=t, queue=queue)
    assert snapshot(client, engine, [t]) == before


def test_enqueue_of_a_queued_task_into_another_queue_moves_it(client: Client) -> None:
    t = task_in(client, "stopped")
    client.enqueue(task=t, queue_name="first")
    first = queue_of(client.get_by_id(t))
    client.enqueue(task=t, queue_name="second")
    task = client.get_by_id(t)
    assert queue_of(task) not in (None, first)
    assert (task.status, task.enqueue_status) == ("queued", "stopped")


def test_enqueue_follows_the_table_and_drops_the_development_tag(client: Client) -> None:
    t = task_in(client, "completed", system_tags=["development", "keep"])
    expect_error((400, 110), client.enqueue, task=t, queue_name="q")
    client.enqueue(task=t, queue_name="q", force=True)
    task = client.get_by_id(t)
    assert (task.status, task.enqueue_status) == ("queued", "completed")
    assert task.system_tags == ["keep"]


# --- dequeue ---------------------------------------------------------------------------------


def test_dequeue_restores_the_status_it_was_enqueued_from(client: Client) -> None:
    t = task_in(client, "failed")
    client.enqueue(task=t, queue_name="q")
    result = client.dequeue(task=t)
    assert (result["dequeued"], result["updated"]) == (1, 1)
    task = client.get_by_id(t)
    assert task.status == "failed"
    assert queue_of(task) is None
    assert task.enqueue_status is None
    last = client.get_status_history(t)[-1]
    assert (last.from_status, last.to_status) == ("queued", "failed")


def test_dequeue_of_a_running_task_goes_back_to_where_it_was_enqueued_from(
    client: Client,
) -> None:
    t = task_in(client, "stopped")
    client.enqueue(task=t, queue_name="q")
    client.started(task=t)
    result = client.dequeue(task=t)
    assert (result["dequeued"], result["updated"]) == (1, 1)
    task = client.get_by_id(t)
    assert (task.status, task.enqueue_status, queue_of(task)) == ("stopped", None, None)
    last = client.get_status_history(t)[-1]
    assert (last.from_status, last.to_status, last.force) == ("in_progress", "stopped", True)


def test_concurrent_first_uses_of_a_queue_name_make_one_queue(
    client: Client, engine: Engine
) -> None:
    ids = [new_task(client, name=f"racer {i}") for i in range(6)]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def racer(t: str) -> None:
        barrier.wait()
        try:
            client.enqueue(task=t, queue_name="contested")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=racer, args=(t,)) for t in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    queues = queue_rows(engine, client.caller.company)
    assert [name for name, _ in queues] == ["contested"]
    assert {queue_of(client.get_by_id(t)) for t in ids} == {queues[0][1]}


def test_dequeue_to_a_given_new_status(client: Client) -> None:
    t = task_in(client, "stopped")
    client.enqueue(task=t, queue_name="q")
    client.dequeue(task=t, new_status="created")
    assert client.get_by_id(t).status == "created"


def test_dequeue_of_a_task_in_no_queue_changes_nothing(client: Client, engine: Engine) -> None:
    t = task_in(client, "stopped")
    before = snapshot(client, engine, [t])
    result = client.dequeue(task=t)
    assert (result["dequeued"], result["updated"]) == (1, 0)
    assert snapshot(client, engine, [t]) == before


def test_enqueue_many_and_dequeue_many(client: Client, engine: Engine) -> None:
    created = new_task(client, name="created")
    stopped = task_in(client, "stopped")
    published = task_in(client, "published")

    enq = client.enqueue_many(ids=[created, published, UNKNOWN_ID, stopped], queue_name="batch")

    assert succeeded_ids(enq) == [created, stopped]
    assert failed_ids(enq) == [(published, [400, 110]), (UNKNOWN_ID, [400, 101])]
    queue = queue_of(client.get_by_id(created))
    assert queue is not None
    assert queue_of(client.get_by_id(stopped)) == queue
    assert client.get_by_id(published).status == "published"
    assert queue_rows(engine, client.caller.company) == [("batch", queue)]

    deq = client.dequeue_many(ids=[stopped, UNKNOWN_ID, created])

    assert succeeded_ids(deq) == [stopped, created]
    assert failed_ids(deq) == [(UNKNOWN_ID, [400, 101])]
    assert client.get_by_id(stopped).status == "stopped"
    assert client.get_by_id(created).status == "created"
    assert all(queue_of(client.get_by_id(t)) is None for t in (created, stopped))


def test_enqueue_many_into_an_unknown_queue_enqueues_nothing(
    client: Client, engine: Engine
) -> None:
    """SEMANTICS does not say whether the whole request or each id answers 701: accept either."""
    ids = [new_task(client, name=f"task {i}") for i in range(2)]
    before = snapshot(client, engine, ids)
    outcome: object
    try:
        outcome = failed_ids(client.enqueue_many(ids=ids, queue=UNKNOWN_ID))
    except DomainError as exc:
        outcome = codes(exc)
    assert outcome in ((400, 701), [(t, [400, 701]) for t in ids])
    assert snapshot(client, engine, ids) == before
