"""A queue's history and the waits in its line, folded from its stream (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tasktrack.domain import events as ev
from tasktrack.domain import queue_history as qh

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


STREAM: list[ev.AnyEvent] = [
    ev.QueueCreated(at=at(0), by="ann", queue_id="q", company="c", name="gpu"),
    ev.QueueTaskAdded(at=at(1), by="ann", task="a"),
    ev.QueueTaskAdded(at=at(2), by="bob", task="b"),
    ev.QueueTaskAdded(at=at(3), by="bob", task="c"),
    ev.QueueTaskMoved(at=at(4), by="ann", task="c", position=0),
    ev.QueueTaskHandedOut(at=at(10), by="agent", task="c"),
    ev.QueueTaskRemoved(at=at(12), by="ann", task="a", reason="dequeued"),
    ev.QueueTaskHandedOut(at=at(20), by="agent", task="b"),
    ev.QueueTaskAdded(at=at(30), by="ann", task="a"),  # back in line: a second stay
]
# c was run by w1 before (an earlier run) and after its handout; b was never reported.
TAKERS: qh.Takers = {"c": [(at(5), "w0"), (at(10.5), "w1"), (at(40), "w2")]}


def test_the_worker_of_a_handout_is_the_first_to_report_the_task_after_it() -> None:
    assert qh.taker(TAKERS, "c", at(10)) == "w1"
    assert qh.taker(TAKERS, "c", at(10.5)) == "w1"  # at the same moment too
    assert qh.taker(TAKERS, "c", at(41)) is None
    assert qh.taker(TAKERS, "b", at(20)) is None


def test_steps_say_who_did_what_and_which_worker_took_a_task() -> None:
    steps = qh.steps(STREAM, TAKERS)
    assert [(s.what, s.by, s.task, s.worker) for s in steps] == [
        ("created", "ann", None, None),
        ("entered", "ann", "a", None),
        ("entered", "bob", "b", None),
        ("entered", "bob", "c", None),
        ("moved", "ann", "c", None),
        ("handed_out", "agent", "c", "w1"),
        ("removed", "ann", "a", None),
        ("handed_out", "agent", "b", None),
        ("entered", "ann", "a", None),
    ]
    assert steps[0].detail == "name=gpu"
    assert steps[4].detail == "position=0"
    assert steps[6].detail == "dequeued"
    assert qh.handed_out(STREAM) == ["b", "c"]


def test_waits_run_from_entering_to_leaving_the_line() -> None:
    waits = qh.waits("q", STREAM, TAKERS, now=at(45))
    assert [(w.task, w.outcome, w.worker, w.wait_seconds, w.seconds_so_far) for w in waits] == [
        ("a", "removed", None, 11.0, 11.0),
        ("b", "handed_out", None, 18.0, 18.0),
        ("c", "handed_out", "w1", 7.0, 7.0),
        ("a", None, None, None, 15.0),  # still waiting at `now`
    ]
    assert [w.entered_by for w in waits] == ["ann", "bob", "bob", "ann"]
    assert waits[-1].left_at is None
    assert {w.queue for w in waits} == {"q"}


def test_a_deleted_queue_ends_every_stay_still_open() -> None:
    stream = [*STREAM, ev.QueueDeleted(at=at(50), by="ann")]
    last = qh.waits("q", stream, TAKERS, now=at(99))[-1]
    assert (last.task, last.outcome, last.wait_seconds, last.left_at) == (
        "a",
        "deleted",
        20.0,
        at(50),
    )
    assert qh.steps(stream, {})[-1].what == "deleted"


def test_a_handout_of_a_task_not_in_line_is_no_wait() -> None:
    stream = [ev.QueueTaskHandedOut(at=at(1), by="agent", task="ghost")]
    assert qh.waits("q", stream, {}, now=at(2)) == []


def test_a_queue_story_puts_task_handouts_after_the_version_they_name() -> None:
    own: list[tuple[int, ev.AnyEvent]] = [
        (1, ev.QueueCreated(at=at(0), by="ann", queue_id="q", company="c", name="gpu")),
        (2, ev.QueueTaskAdded(at=at(1), by="ann", task="a")),
        (3, ev.QueueTaskAdded(at=at(2), by="ann", task="b")),
        (4, ev.QueueTaskRemoved(at=at(9), by="ann", task="b", reason="dequeued")),
    ]
    handouts: list[tuple[str, ev.AnyEvent]] = [
        ("a", ev.TaskHandedOut(at=at(5), by="agent", queue="q", queue_version=3, entered=at(1)))
    ]
    story = qh.story(own, handouts)
    assert [type(e).__name__ for e in story] == [
        "QueueCreated",
        "QueueTaskAdded",
        "QueueTaskAdded",
        "QueueTaskHandedOut",
        "QueueTaskRemoved",
    ]
    waits = qh.waits("q", story, {"a": [(at(6), "w1")]}, now=at(20))
    assert [(w.task, w.outcome, w.worker, w.wait_seconds) for w in waits] == [
        ("a", "handed_out", "w1", 4.0),
        ("b", "removed", None, 7.0),
    ]
