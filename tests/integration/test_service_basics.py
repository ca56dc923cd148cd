"""The service end to end through the Python API: a task's life, idempotency, concurrency."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.errors import (
    DomainError,
    InvalidTaskStatus,
    RequestIdReused,
    TaskNotFound,
    VersionConflict,
)
from tasktrack.service import Caller
from tasktrack.service.core import StreamClash


def _task(client: Client, **kw: object) -> str:
    return str(client.create(name="a task", type="training", **kw)["id"])


@pytest.mark.smoke
def test_a_task_life(client: Client) -> None:
    t = _task(client, tags=["b", "a", "b"])
    client.enqueue(task=t, queue_name="gpu")
    client.started(task=t)
    client.completed(task=t, publish=True)
    task = client.get_by_id(t)
    assert task.status == "published"
    assert task.tags == ["a", "b"]
    assert [(h.from_status, h.to_status) for h in client.get_status_history(t)] == [
        ("created", "queued"),
        ("queued", "in_progress"),
        ("in_progress", "completed"),
        ("completed", "publishing"),
        ("publishing", "published"),
    ]


def test_completed_answers_how_many_tasks_it_published(client: Client) -> None:
    """ClearML's `tasks.completed` answer counts the tasks the call published (0 or 1)."""
    t = str(client.create(name="complete me", type="training")["id"])
    client.started(task=t)
    first = client.completed(task=t)
    assert (first["updated"], first["published"], first["fields"]["status"]) == (1, 0, "completed")
    second = client.completed(task=t, publish=True)
    assert (second["updated"], second["published"]) == (1, 1)
    assert second["fields"]["status"] == "published"


def test_a_rejected_command_writes_nothing(client: Client) -> None:
    t = _task(client)
    before = client.get_by_id(t)
    with pytest.raises(InvalidTaskStatus, match="current_status=created, new_status=stopped"):
        client.stopped(task=t)
    assert client.get_by_id(t) == before
    assert client.get_status_history(t) == []


def test_other_companies_tasks_are_invisible(client: Client) -> None:
    t = _task(client)
    other = client.as_caller("someone-else", "mallory")
    with pytest.raises(TaskNotFound):
        other.get_by_id(t)
    with pytest.raises(TaskNotFound):
        other.started(task=t)
    assert client.get_by_id(t).status == "created"


def test_a_retried_request_is_applied_once(client: Client) -> None:
    t = _task(client)
    first = client.enqueue(task=t, queue_name="q", request_id="req-1")
    again = client.enqueue(task=t, queue_name="q", request_id="req-1")
    assert again == first
    assert len(client.get_status_history(t)) == 1
    with pytest.raises(RequestIdReused):
        client.started(task=t, request_id="req-1")


def test_a_retried_create_makes_one_task(client: Client) -> None:
    a = client.create(name="once only", type="training", request_id="create-1")
    b = client.create(name="once only", type="training", request_id="create-1")
    assert a == b
    assert len(client.get_all()) == 1


def test_expected_version_is_optimistic_concurrency(client: Client) -> None:
    t = _task(client)
    client.edit(task=t, comment="v2", expected_version=1)
    with pytest.raises(VersionConflict):
        client.edit(task=t, comment="stale", expected_version=1)
    assert client.get_by_id(t).comment == "v2"


def test_concurrent_status_changes_never_both_win_from_one_state(client: Client) -> None:
    """Clients race to move one task out of created; the history stays one chain and every
    success is exactly one history row (no lost update, no double move from `created`)."""
    t = _task(client)
    racers = 8
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def racer(i: int) -> None:
        barrier.wait()
        try:
            if i % 2:
                client.started(task=t)
            else:
                client.enqueue(task=t, queue_name="race")
            outcome = "ok"
        except DomainError as exc:
            outcome = f"{exc.code}/{exc.subcode}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == racers
    history = client.get_status_history(t)
    assert len(history) == outcomes.count("ok")
    assert [h.from_status for h in history].count("created") == 1
    for before, after in itertools.pairwise(history):
        assert after.from_status == before.to_status
    # Losers are refused as SEMANTICS says: a concurrent change won (121), or the new state
    # forbids the move (110: in_progress -> queued), or it is already in that queue (706).
    assert set(outcomes) - {"ok"} <= {"400/121", "400/110", "400/706"}


@pytest.mark.tampers
def test_an_append_that_clashes_on_the_log_key_is_a_409_and_writes_nothing(
    own_engine: Engine,
) -> None:
    """A writer that bypassed the stream lock took the next version: the command is refused
    with a conflict (after retrying), and neither the log nor the task row change."""
    engine = own_engine
    client = Client(engine, Caller(company="acme", user="alice"))
    t = _task(client)
    before = client.get_by_id(t)
    with engine.begin() as conn:
        # Out of band: the next version of the stream, with the task row left behind.
        conn.execute(
            text(
                "INSERT INTO events (stream_id, stream_version, chain, company, type, "
                "schema_version, data, metadata, recorded_at, hash) "
                "SELECT stream_id, stream_version + 1, chain, company, type, schema_version, "
                "data, metadata, recorded_at, hash FROM events WHERE stream_id = :t"
            ),
            {"t": t},
        )
    count = text("SELECT count(*) FROM events WHERE stream_id = :t")
    with engine.connect() as conn:
        events_before = conn.execute(count, {"t": t}).scalar_one()
    with pytest.raises(StreamClash, match="concurrent append") as refused:
        client.started(task=t)
    assert refused.value.code == 409
    with engine.connect() as conn:
        assert conn.execute(count, {"t": t}).scalar_one() == events_before
    assert client.get_by_id(t) == before
