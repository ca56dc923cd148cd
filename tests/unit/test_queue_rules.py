"""The pure folds of a queue stream: its state, its waiting line and ranks, moves, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tasktrack.domain import events as ev
from tasktrack.domain import queue_metrics, queues
from tasktrack.store import eventlog

T0 = datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _added(task: str, s: float = 0) -> ev.QueueTaskAdded:
    return ev.QueueTaskAdded(at=_at(s), by="u", task=task)


def _fold_line(events: list[ev.AnyEvent]) -> list[queues.Entry]:
    line: list[queues.Entry] = []
    for event in events:
        line = queues.line(line, event)
    return line


def _order(line: list[queues.Entry]) -> list[str]:
    return [e.task for e in sorted(line, key=lambda e: e.rank)]


def test_tasks_enter_at_the_end_and_leave_from_anywhere() -> None:
    line = _fold_line(
        [
            _added("a"),
            _added("b"),
            _added("c"),
            ev.QueueTaskHandedOut(at=_at(1), by="u", task="a"),
            ev.QueueTaskRemoved(at=_at(2), by="u", task="c"),
            _added("d", 3),
        ]
    )
    assert _order(line) == ["b", "d"]
    assert [e.rank for e in line] == [2, 3]  # the largest rank waiting plus one


def test_a_move_renumbers_the_line() -> None:
    line = _fold_line([_added("a"), _added("b"), _added("c")])
    moved = queues.moved(line, "c", 0)
    assert [(e.task, e.rank) for e in moved] == [("c", 1), ("a", 2), ("b", 3)]
    assert _order(queues.moved(line, "a", 100)) == ["b", "c", "a"]  # clamped


@pytest.mark.parametrize(
    ("move", "expected"),
    [("first", 0), ("last", 3), (2, 3), (-1, 0), (100, 3), (-100, 0)],
)
def test_where_a_move_puts_the_task(move: int | str, expected: int) -> None:
    line = _fold_line([_added("a"), _added("b"), _added("c"), _added("d")])
    assert queues.position_after(line, "b", move) == expected


def test_the_queue_state_folds_updates_metadata_and_deletion() -> None:
    created = ev.QueueCreated(
        at=T0, by="u", queue_id="q", company="c", name="n", tags=["b", "a", "b"]
    )
    state = queues.evolve(None, created)
    assert state.tags == ["a", "b"]
    changes = ev.QueueChanges(name="m", system_tags=["default"])
    state = queues.evolve(state, ev.QueueUpdated(at=_at(1), by="v", changes=changes))
    item = ev.MetadataItem(key="k", value="1")
    state = queues.evolve(state, ev.QueueMetadataChanged(at=_at(2), by="v", upserted=[item]))
    state = queues.evolve(state, ev.QueueMetadataChanged(at=_at(3), by="v", deleted=["k"]))
    assert (state.name, state.system_tags, state.metadata) == ("m", ["default"], [])
    assert state.last_update == _at(3)
    assert queues.evolve(state, ev.QueueDeleted(at=_at(4), by="v")).deleted
    with pytest.raises(ValueError, match="before QueueCreated"):
        queues.evolve(None, _added("a"))


def test_samples_hold_the_length_and_mean_wait_after_each_change() -> None:
    samples = queue_metrics.samples(
        [_added("a", 0), _added("b", 10), ev.QueueTaskHandedOut(at=_at(20), by="u", task="a")]
    )
    assert [(s.length, s.avg_wait) for s in samples] == [(1, 0.0), (2, 5.0), (1, 10.0)]


def test_buckets_keep_the_longest_wait_and_skip_empty_ones() -> None:
    samples = [
        queue_metrics.Sample(_at(1), 1, 1.0),
        queue_metrics.Sample(_at(2), 3, 4.0),  # same 5 s bucket, longer wait: kept
        queue_metrics.Sample(_at(21), 2, 0.5),
    ]
    start = T0.timestamp()
    series = queue_metrics.buckets(samples, start, start + 60, 5)
    base = int(start * 1000)
    assert series.dates == [base, base + 20_000]
    assert (series.queue_lengths, series.avg_waiting_times) == ([3, 2], [4.0, 0.5])
    total = queue_metrics.total(
        [series, queue_metrics.Series(dates=[base], avg_waiting_times=[2.0], queue_lengths=[1])]
    )
    assert total.queue_lengths == [4, 3]  # the second queue's last sample carries on
    assert total.avg_waiting_times[0] == pytest.approx((3 * 4.0 + 1 * 2.0) / 4)


def test_queue_streams_are_locked_after_every_other_lock() -> None:
    """One order for every command: tasks (and anything else) first, queues last."""
    names = [queues.lock_of(f"q{i}") for i in range(20)] + [f"task{i}" for i in range(20)]
    keys = eventlog.lock_keys(names)
    queue_keys = {eventlog.lock_key(queues.lock_of(f"q{i}")) for i in range(20)}
    assert set(keys[-20:]) == queue_keys
    assert keys[:20] == sorted(keys[:20])
    assert keys[-20:] == sorted(keys[-20:])


def test_handouts_on_task_streams_fold_in_at_the_queue_version_they_name() -> None:
    """A line folded with handouts placed after the queue version each names gives the
    ranks the live path gave: a handout before an enqueue frees the largest rank, one before
    a move is not renumbered; the old QueueTaskHandedOut on the queue's stream still folds."""
    changes: list[tuple[int, ev.AnyEvent]] = [
        (2, _added("a", 1)),
        (3, _added("b", 2)),
        (4, _added("c", 3)),
        (6, ev.QueueTaskMoved(at=_at(6), by="u", task="c", position=0)),
        (7, _added("d", 7)),
        (8, ev.QueueTaskHandedOut(at=_at(8), by="u", task="d")),  # an old log's handout
        (9, _added("e", 9)),
    ]
    # b handed out after version 4, a after 7 (d's entering); 5 names no line event.
    line = queues.line_with_handouts(
        changes, [(7, "a", _at(1)), (4, "b", _at(2)), (5, "x", _at(0))]
    )
    assert [(e.task, e.rank) for e in line] == [("c", 1), ("e", 2)]
    line = queues.line_with_handouts(changes, [(4, "b", _at(2))])
    # Without b, the move renumbers c, a as 1, 2; d and e enter after them.
    assert [(e.task, e.rank) for e in sorted(line, key=lambda e: e.rank)] == [
        ("c", 1),
        ("a", 2),
        ("e", 3),
    ]
    # Applied at the end instead (the wrong place), b would have been renumbered with them.
    assert queues.line_with_handouts(changes, [(9, "b", _at(2))]) != line
    # A handout whose queue version is behind the stay it ends (read before that stay's
    # commit showed) still ends that stay, and only it.
    assert _order(queues.line_with_handouts(changes, [(1, "e", _at(9))])) == ["c", "a", "b"]
    assert _order(queues.line_with_handouts(changes, [(1, "e", _at(5))])) == ["c", "a", "b", "e"]
