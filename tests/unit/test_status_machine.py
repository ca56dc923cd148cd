"""Every (from status x status endpoint) pair, against the table of SEMANTICS §2.

The table below is transcribed from SEMANTICS.md on purpose, not imported from the code: it is
the independent check of tasktrack.domain.status.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tasktrack.domain import commands as cmd
from tests.unit.domain_builders import (
    STATUSES,
    T0,
    T1,
    TASK_ID,
    moves,
    refused,
    run,
    task_in,
)

# SEMANTICS §2, "Allowed changes without force" (the same status is always allowed besides).
TABLE: dict[str, set[str]] = {
    "created": {"queued", "in_progress"},
    "queued": {"created", "in_progress", "stopped"},
    "in_progress": {"stopped", "failed", "created", "completed"},
    "stopped": {
        "closed",
        "created",
        "failed",
        "queued",
        "in_progress",
        "published",
        "publishing",
        "completed",
    },
    "closed": {"created", "failed", "published", "publishing", "stopped"},
    "failed": {"created", "stopped", "published", "queued"},
    "publishing": {"published"},
    "completed": {"published", "in_progress", "created"},
    "published": set(),
    "unknown": set(),
}


def may(current: str, new: str) -> bool:
    return current == new or new in TABLE[current]


Make = Callable[[bool], cmd.Command]

# The endpoints that move a task to one status through the table: (command maker, target).
# enqueue uses queue "q2" while task_in("queued") sits in "q1" (same queue is 400/706).
# stop runs without a live worker (task_in sets no last_worker).
ENDPOINTS: dict[str, tuple[Make, str]] = {
    "started": (lambda f: cmd.MarkStarted(task=TASK_ID, force=f), "in_progress"),
    "stopped": (lambda f: cmd.MarkStopped(task=TASK_ID, force=f), "stopped"),
    "completed": (lambda f: cmd.MarkCompleted(task=TASK_ID, force=f), "completed"),
    "failed": (lambda f: cmd.MarkFailed(task=TASK_ID, force=f), "failed"),
    "close": (lambda f: cmd.CloseTask(task=TASK_ID, force=f), "closed"),
    "enqueue": (lambda f: cmd.EnqueueTask(task=TASK_ID, queue="q2", force=f), "queued"),
    "reset": (lambda f: cmd.ResetTask(task=TASK_ID, force=f), "created"),
    "stop-without-live-worker": (lambda f: cmd.StopTask(task=TASK_ID, force=f), "stopped"),
}

PAIRS = [(s, e) for s in STATUSES for e in ENDPOINTS]


@pytest.mark.parametrize(("status", "endpoint"), PAIRS)
def test_endpoint_follows_the_table_without_force(status: str, endpoint: str) -> None:
    make, target = ENDPOINTS[endpoint]
    state = task_in(status)
    if may(status, target):
        events, after = run(state, make(False))
        assert after.status == target
        assert moves(events)[-1] == (status, target)
    else:
        error = refused(state, make(False), 400, 110)
        assert f"current_status={status}, new_status={target}" in error.message


@pytest.mark.parametrize(("status", "endpoint"), PAIRS)
def test_endpoint_succeeds_from_any_status_with_force(status: str, endpoint: str) -> None:
    make, target = ENDPOINTS[endpoint]
    events, after = run(task_in(status), make(True))
    assert after.status == target
    assert moves(events)[-1] == (status, target)


@pytest.mark.parametrize("status", STATUSES)
def test_publish_needs_a_status_whose_row_allows_published(status: str) -> None:
    state = task_in(status)
    command = cmd.PublishTask(task=TASK_ID)
    if "published" in TABLE[status]:
        events, after = run(state, command)
        assert after.status == "published"
        assert after.published == T1
        assert moves(events)[-1] == ("publishing", "published")
    else:
        error = refused(state, command, 400, 110)
        assert f"current_status={status}, new_status=published" in error.message


@pytest.mark.parametrize("status", STATUSES)
def test_publish_succeeds_from_any_status_with_force(status: str) -> None:
    events, after = run(task_in(status), cmd.PublishTask(task=TASK_ID, force=True))
    assert after.status == "published"
    assert after.published == T1
    assert moves(events)[-1] == ("publishing", "published")


@pytest.mark.parametrize("status", ["stopped", "closed", "failed", "completed"])
def test_publish_goes_through_publishing(status: str) -> None:
    events, after = run(task_in(status), cmd.PublishTask(task=TASK_ID))
    assert moves(events) == [(status, "publishing"), ("publishing", "published")]
    assert after.status == "published"


def test_publish_of_a_publishing_task_ends_published() -> None:
    events, after = run(task_in("publishing"), cmd.PublishTask(task=TASK_ID))
    assert moves(events)[-1] == ("publishing", "published")
    assert {to for _, to in moves(events)} <= {"publishing", "published"}
    assert after.status == "published"


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("status", STATUSES)
def test_dequeue_moves_only_queued_and_running_tasks(status: str, force: bool) -> None:
    state = task_in(status, enqueue_status="stopped" if status == "queued" else None)
    events, after = run(state, cmd.DequeueTask(task=TASK_ID, force=force))
    if status in ("queued", "in_progress"):
        # back to enqueue_status, else created; always forced, so the table does not matter
        assert after.status == ("stopped" if status == "queued" else "created")
        assert after.queue is None
    else:
        assert events == []
        assert after == state


SAME_STATUS: list[tuple[str, cmd.Command]] = [
    ("in_progress", cmd.MarkStarted(task=TASK_ID)),
    ("stopped", cmd.MarkStopped(task=TASK_ID)),
    ("completed", cmd.MarkCompleted(task=TASK_ID)),
    ("failed", cmd.MarkFailed(task=TASK_ID)),
    ("closed", cmd.CloseTask(task=TASK_ID)),
    ("created", cmd.ResetTask(task=TASK_ID)),
    ("queued", cmd.EnqueueTask(task=TASK_ID, queue="q2")),
    ("stopped", cmd.StopTask(task=TASK_ID)),
]


@pytest.mark.parametrize(("status", "command"), SAME_STATUS)
def test_same_status_change_is_allowed_and_refreshes_status_changed(
    status: str, command: cmd.Command
) -> None:
    state = task_in(status)
    assert state.status_changed == T0
    events, after = run(state, command)
    assert after.status == status
    assert after.status_changed == T1
    assert moves(events) == [(status, status)]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_change_away_from_unknown_is_400_110_without_force(endpoint: str) -> None:
    # Deviation from ClearML (which answers 500): tasktrack answers 400/110.
    make, _ = ENDPOINTS[endpoint]
    error = refused(task_in("unknown"), make(False), 400, 110)
    assert "current_status=unknown" in error.message


def test_unknown_can_be_published_only_with_force() -> None:
    refused(task_in("unknown"), cmd.PublishTask(task=TASK_ID), 400, 110)
    _, after = run(task_in("unknown"), cmd.PublishTask(task=TASK_ID, force=True))
    assert after.status == "published"


@pytest.mark.parametrize("status", ["published", "publishing"])
def test_reset_of_published_or_publishing_needs_force(status: str) -> None:
    error = refused(task_in(status), cmd.ResetTask(task=TASK_ID), 400, 110)
    assert f"current_status={status}, new_status=created" in error.message
    _, after = run(task_in(status), cmd.ResetTask(task=TASK_ID, force=True))
    assert after.status == "created"


def test_completed_with_publish_runs_publish() -> None:
    events, after = run(task_in("in_progress"), cmd.MarkCompleted(task=TASK_ID, publish=True))
    assert moves(events) == [
        ("in_progress", "completed"),
        ("completed", "publishing"),
        ("publishing", "published"),
    ]
    assert after.status == "published"
    assert after.completed == T1
    assert after.published == T1


def test_completed_with_publish_is_refused_whole_when_completed_is_not_allowed() -> None:
    error = refused(task_in("created"), cmd.MarkCompleted(task=TASK_ID, publish=True), 400, 110)
    assert "current_status=created, new_status=completed" in error.message


def test_table_transcription_covers_every_status() -> None:
    # A guard on this file itself: the table has a row for each of the 10 statuses, and every
    # target it names is a status.
    assert set(TABLE) == set(STATUSES)
    assert set().union(*TABLE.values()) <= set(STATUSES)
