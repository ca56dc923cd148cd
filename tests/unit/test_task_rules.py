"""Side effects of the status endpoints (SEMANTICS §2), decided then folded, no database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tasktrack.domain import commands as cmd
from tests.unit.domain_builders import (
    STATUSES,
    T0,
    T1,
    T2,
    TASK_ID,
    USER,
    artifact_ids,
    ctx,
    empty,
    full_task,
    model_names,
    moves,
    refused,
    run,
    task_in,
)

WHY: dict[str, Any] = {"status_reason": "why", "status_message": "what"}

# (from status, command, status after, reason after, message after)
CHANGES: list[tuple[str, cmd.Command, str, str, str]] = [
    ("created", cmd.MarkStarted(task=TASK_ID, **WHY), "in_progress", "why", "what"),
    ("in_progress", cmd.MarkStopped(task=TASK_ID, **WHY), "stopped", "why", "what"),
    ("in_progress", cmd.MarkCompleted(task=TASK_ID, **WHY), "completed", "why", "what"),
    ("in_progress", cmd.MarkFailed(task=TASK_ID, **WHY), "failed", "why", "what"),
    ("stopped", cmd.CloseTask(task=TASK_ID, **WHY), "closed", "why", "what"),
    ("created", cmd.EnqueueTask(task=TASK_ID, queue="q2", **WHY), "queued", "why", "what"),
    ("queued", cmd.DequeueTask(task=TASK_ID, **WHY), "created", "why", "what"),
    ("stopped", cmd.PublishTask(task=TASK_ID, **WHY), "published", "why", "what"),
    ("stopped", cmd.ResetTask(task=TASK_ID, **WHY), "created", "reset", "reset"),
    ("in_progress", cmd.StopTask(task=TASK_ID, **WHY), "stopped", "why", f"Stopped by {USER}"),
    ("completed", cmd.EditTask(task=TASK_ID, force=True, status="queued"), "queued", "", ""),
]


@pytest.mark.parametrize(("status", "command", "new", "reason", "message"), CHANGES)
def test_every_status_change_writes_the_status_fields(
    status: str, command: cmd.Command, new: str, reason: str, message: str
) -> None:
    events, after = run(task_in(status), command)
    assert moves(events)[-1][1] == new
    assert after.status == new
    assert after.status_reason == reason
    assert after.status_message == message
    assert after.status_changed == T1
    assert after.last_update == T1
    assert after.last_change == T1
    assert after.last_changed_by == USER


OMITTED: list[tuple[str, cmd.Command]] = [
    ("created", cmd.MarkStarted(task=TASK_ID)),
    ("in_progress", cmd.MarkStopped(task=TASK_ID)),
    ("in_progress", cmd.MarkCompleted(task=TASK_ID)),
    ("in_progress", cmd.MarkFailed(task=TASK_ID)),
    ("stopped", cmd.CloseTask(task=TASK_ID)),
    ("created", cmd.EnqueueTask(task=TASK_ID, queue="q2")),
    ("queued", cmd.DequeueTask(task=TASK_ID)),
    ("stopped", cmd.PublishTask(task=TASK_ID)),
]


@pytest.mark.parametrize(("status", "command"), OMITTED)
def test_omitted_reason_and_message_clear_the_old_ones(status: str, command: cmd.Command) -> None:
    state = task_in(status)
    assert (state.status_reason, state.status_message) == ("old reason", "old message")
    _, after = run(state, command)
    assert after.status_reason == ""
    assert after.status_message == ""


def test_started_sets_started_when_never_started() -> None:
    _, after = run(task_in("created"), cmd.MarkStarted(task=TASK_ID))
    assert after.started == T1


def test_started_keeps_the_earliest_started() -> None:
    _, after = run(task_in("stopped", started=T0), cmd.MarkStarted(task=TASK_ID), ctx(T2))
    assert after.status == "in_progress"
    assert after.started == T0


@pytest.mark.parametrize(
    "command", [cmd.MarkStopped(task=TASK_ID), cmd.MarkCompleted(task=TASK_ID)]
)
def test_stopped_and_completed_set_completed(command: cmd.Command) -> None:
    _, after = run(task_in("in_progress", started=T0, completed=None), command)
    assert after.completed == T1


# --- stop -------------------------------------------------------------------------------------

ASKED: dict[str, Any] = {"status_reason": "user asked", "status_message": "please stop"}
LIVE: dict[str, Any] = {"last_worker": "worker-1", "last_worker_report": T1 - timedelta(seconds=30)}


def test_stop_without_worker_stops_at_once() -> None:
    _, after = run(task_in("in_progress"), cmd.StopTask(task=TASK_ID, **ASKED))
    assert after.status == "stopped"
    assert after.status_message == f"Stopped by {USER}"
    assert after.status_reason == "user asked"


@pytest.mark.parametrize(
    "worker",
    [
        {"last_worker": "worker-1", "last_worker_report": T1 - timedelta(seconds=601)},
        {"last_worker": "worker-1", "last_worker_report": None},
        {"last_worker": "", "last_worker_report": T1 - timedelta(seconds=30)},
        {"last_worker": None, "last_worker_report": T1 - timedelta(seconds=30)},
    ],
)
def test_stop_with_no_live_worker_stops_at_once(worker: dict[str, object]) -> None:
    _, after = run(task_in("in_progress", **worker), cmd.StopTask(task=TASK_ID, **ASKED))
    assert after.status == "stopped"
    assert after.status_message == f"Stopped by {USER}"


def test_stop_with_live_worker_only_asks_it_to_stop() -> None:
    events, after = run(task_in("in_progress", **LIVE), cmd.StopTask(task=TASK_ID, **ASKED))
    assert after.status == "in_progress"
    assert all(to == "in_progress" for _, to in moves(events))
    assert after.status_message == "stopping"
    assert after.status_reason == "user asked"


def test_stop_of_a_development_task_stops_at_once_even_with_live_worker() -> None:
    state = task_in("in_progress", system_tags=["development"], **LIVE)
    _, after = run(state, cmd.StopTask(task=TASK_ID, **ASKED))
    assert after.status == "stopped"
    assert after.status_message == f"Stopped by {USER}"


def test_stop_of_a_queued_task_takes_it_out_of_its_queue() -> None:
    state = task_in("queued", **LIVE)
    assert state.execution is not None
    assert state.execution.queue == "q1"
    _, after = run(state, cmd.StopTask(task=TASK_ID, **ASKED))
    assert after.status == "stopped"
    assert after.status_message == f"Stopped by {USER}"
    assert after.execution is None or empty(after.execution.queue)


# --- enqueue and dequeue ----------------------------------------------------------------------


def test_enqueue_remembers_status_sets_queue_and_drops_development() -> None:
    state = task_in("stopped", system_tags=["development", "keep"])
    _, after = run(state, cmd.EnqueueTask(task=TASK_ID, queue="q2"))
    assert after.status == "queued"
    assert after.enqueue_status == "stopped"
    assert after.execution is not None
    assert after.execution.queue == "q2"
    assert after.system_tags == ["keep"]


def test_enqueue_of_a_queued_task_into_another_queue_moves_it() -> None:
    state = task_in("queued", enqueue_status="failed")
    _, after = run(state, cmd.EnqueueTask(task=TASK_ID, queue="q2"))
    assert after.status == "queued"
    assert after.execution is not None
    assert after.execution.queue == "q2"
    assert after.enqueue_status == "failed"


def test_enqueue_into_the_very_same_queue_is_400_706() -> None:
    refused(task_in("queued"), cmd.EnqueueTask(task=TASK_ID, queue="q1"), 400, 706)


def test_enqueue_then_dequeue_returns_to_the_prior_status() -> None:
    _, queued = run(task_in("failed"), cmd.EnqueueTask(task=TASK_ID, queue="q2"))
    _, after = run(queued, cmd.DequeueTask(task=TASK_ID), ctx(T2))
    assert after.status == "failed"
    assert after.queue is None
    assert after.enqueue_status is None


@pytest.mark.parametrize(
    ("enqueue_status", "command", "expected"),
    [
        ("stopped", cmd.DequeueTask(task=TASK_ID), "stopped"),
        ("stopped", cmd.DequeueTask(task=TASK_ID, new_status="failed"), "failed"),
        (None, cmd.DequeueTask(task=TASK_ID), "created"),
    ],
)
def test_dequeue_restores_new_status_else_enqueue_status_else_created(
    enqueue_status: str | None, command: cmd.DequeueTask, expected: str
) -> None:
    state = task_in("queued", enqueue_status=enqueue_status)
    _, after = run(state, command)
    assert after.status == expected
    assert after.execution is None or empty(after.execution.queue)
    assert after.enqueue_status is None


# --- reset ------------------------------------------------------------------------------------


@pytest.mark.parametrize("clear_all", [False, True])
def test_reset_clears_exactly_the_run_fields(clear_all: bool) -> None:
    before = full_task("stopped")
    _, after = run(before, cmd.ResetTask(task=TASK_ID, clear_all=clear_all))
    assert after.status == "created"
    assert (after.status_reason, after.status_message) == ("reset", "reset")
    # cleared
    assert after.last_iteration == 0
    assert model_names(after, "output") == {}
    assert after.queue is None
    for field in ("started", "completed", "published", "active_duration", "last_worker"):
        assert getattr(after, field) is None, field
    assert after.last_worker_report is None
    assert after.enqueue_status is None
    assert empty(after.runtime)
    assert after.output is not None
    assert empty(after.output.result)
    assert empty(after.output.error)
    if clear_all:
        assert artifact_ids(after) == []
        assert empty(after.script)
    else:
        assert artifact_ids(after) == [("in-art", "input")]
        assert after.script == before.script
    # kept
    for field in (
        "name",
        "comment",
        "tags",
        "system_tags",
        "hyperparams",
        "configuration",
        "parent",
        "project",
        "container",
        "type",
        "created",
    ):
        assert getattr(after, field) == getattr(before, field), field
    assert model_names(after, "input") == {"base": "m-in"}
    assert after.output.destination == "s3://bucket/out"  # only result and error are listed
    assert after.execution is not None
    assert after.execution.framework == "pytorch"  # only queue and artifacts are listed


def test_reset_then_started_sets_a_new_started() -> None:
    _, reset = run(task_in("stopped", started=T0), cmd.ResetTask(task=TASK_ID))
    _, after = run(reset, cmd.MarkStarted(task=TASK_ID), ctx(T2))
    assert after.started == T2


# --- delete -----------------------------------------------------------------------------------


def test_delete_of_a_created_task() -> None:
    _, after = run(task_in("created"), cmd.DeleteTask(task=TASK_ID))
    assert after.deleted
    refused(after, cmd.MarkStarted(task=TASK_ID), 400, 101)


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "created"])
def test_delete_needs_created_or_archived_or_force(status: str) -> None:
    refused(task_in(status), cmd.DeleteTask(task=TASK_ID), 400, 123)
    _, archived = run(task_in(status, system_tags=["archived"]), cmd.DeleteTask(task=TASK_ID))
    assert archived.deleted
    _, forced = run(task_in(status), cmd.DeleteTask(task=TASK_ID, force=True))
    assert forced.deleted


def test_a_task_of_another_company_is_not_found() -> None:
    refused(task_in("created"), cmd.MarkStarted(task=TASK_ID), 400, 101, ctx(company="other"))


# --- archive ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [("queued", "stopped"), ("in_progress", "stopped"), ("completed", "completed")],
)
def test_archive_takes_the_task_off_its_queue_or_run_then_tags_it(
    status: str, expected: str
) -> None:
    # the queued task was enqueued from stopped: archive dequeues it back there
    enqueued_from = "stopped" if status == "queued" else None
    state = task_in(status, system_tags=["sys"], enqueue_status=enqueued_from)
    _, after = run(state, cmd.ArchiveTask(task=TASK_ID, **WHY))
    assert after.status == expected
    assert after.system_tags == ["archived", "sys"]
    assert (after.status_reason, after.status_message) == ("why", "what")
    assert after.last_change == T1
    assert after.queue is None
    if status == "queued":
        assert after.enqueue_status is None


def test_unarchive_removes_the_tag_and_writes_reason_and_message() -> None:
    state = task_in("stopped", system_tags=["archived", "sys"])
    _, after = run(state, cmd.UnarchiveTask(task=TASK_ID, **WHY))
    assert after.status == "stopped"
    assert after.system_tags == ["sys"]
    assert (after.status_reason, after.status_message) == ("why", "what")
    assert after.last_change == T1
