"""Workers' rules: which registrations and heartbeats are facts, silence, stats and charts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import workers as rules
from tasktrack.domain.workers import WorkerRow
from tests.unit.domain_builders import T0, T1, TASK_ID, ctx, run, task_in

A = "worker-a"


def _registered(**fields: Any) -> WorkerRow:
    row, events = rules.register(
        None,
        company="acme",
        worker=A,
        user="agent",
        timeout=60,
        queues=["q1"],
        tags=["b", "a", "a"],
        system_tags=None,
        ip=None,
        now=T0,
    )
    assert [type(e) for e in events] == [ev.WorkerRegistered]
    return structs.replace(row, **fields)


def _again(row: WorkerRow | None, now: Any = T0, **changes: Any) -> list[ev.AnyEvent]:
    fields: dict[str, Any] = {"timeout": 60, "queues": ["q1"], "tags": ["a", "b"]}
    fields.update(changes)
    _, events = rules.register(
        row,
        company="acme",
        worker=A,
        user="agent",
        system_tags=None,
        ip=None,
        now=now,
        **fields,
    )
    return events


def test_a_first_registration_is_a_fact_with_sorted_unique_tags() -> None:
    row = _registered()
    assert row.tags == ["a", "b"]
    assert row.live(T0 + timedelta(seconds=59))
    assert not row.live(T0 + timedelta(seconds=60))


def test_an_identical_registration_of_a_live_worker_is_only_a_refresh() -> None:
    row = _registered()
    assert _again(row, T0 + timedelta(seconds=30)) == []
    assert [type(e) for e in _again(row, tags=["c"])] == [ev.WorkerRegistered]
    assert [type(e) for e in _again(row, queues=[])] == [ev.WorkerRegistered]
    assert [type(e) for e in _again(row, timeout=5)] == [ev.WorkerRegistered]
    # After its timeout (or once gone), registering again is a fact again.
    assert [type(e) for e in _again(row, T0 + timedelta(seconds=61))] == [ev.WorkerRegistered]
    assert [type(e) for e in _again(structs.replace(row, gone=True))] == [ev.WorkerRegistered]


def test_a_heartbeat_is_a_fact_only_when_the_task_changes() -> None:
    row = _registered()
    assert rules.report_task(row, None, None, T1, "agent") == []
    took = rules.report_task(row, "t1", "q1", T1, "agent")
    assert took == [ev.WorkerTookTask(at=T1, by="agent", worker=A, task="t1", queue="q1")]
    running = structs.replace(row, task="t1")
    assert rules.report_task(running, "t1", "q1", T1, "agent") == []
    switched = rules.report_task(running, "t2", None, T1, "agent")
    assert [(type(e), getattr(e, "task", None)) for e in switched] == [
        (ev.WorkerLeftTask, "t1"),
        (ev.WorkerTookTask, "t2"),
    ]
    assert [type(e) for e in rules.report_task(running, None, None, T1, "agent")] == [
        ev.WorkerLeftTask
    ]


def test_silence_is_recorded_once_after_the_timeout_and_ends_the_task() -> None:
    row = _registered(task="t1")
    assert rules.silence(row, T0 + timedelta(seconds=59)) == []
    late = T0 + timedelta(seconds=75)
    events = rules.silence(row, late)
    assert [type(e) for e in events] == [ev.WorkerLeftTask, ev.WorkerWentSilent]
    silent = events[-1]
    assert isinstance(silent, ev.WorkerWentSilent)
    assert (silent.last_seen, silent.timeout, silent.at) == (T0, 60, late)
    assert rules.silence(structs.replace(row, gone=True), late) == []


def test_unregistering_an_unknown_or_gone_worker_is_nothing() -> None:
    assert rules.unregister(None, T1) == []
    row = _registered(task="t1")
    assert rules.unregister(structs.replace(row, gone=True), T0) == []
    assert [type(e) for e in rules.unregister(row, T0)] == [
        ev.WorkerLeftTask,
        ev.WorkerUnregistered,
    ]


def test_machine_stats_become_lists_and_empty_readings_are_left_out() -> None:
    stats: dict[str, Any] = {
        "cpu_usage": [10, 20],
        "memory_used": 50,
        "gpu_usage": [],
        "disk_read": 0,
        "x": None,
    }
    assert rules.flatten_stats(stats) == {"cpu_usage": [10.0, 20.0], "memory_used": [50.0]}
    assert rules.flatten_stats(None) == {}
    assert rules.category("gpu_memory_used") == "gpu"
    assert rules.category("cpu_usage") == "cpu"


def test_chart_buckets_are_epoch_aligned_and_drop_an_incomplete_last_one() -> None:
    step = rules.chart_interval(1)
    assert step == 40
    # from aligned on the interval: 400 s is exactly 10 buckets, the 11th starts at to_date.
    assert rules.buckets(4000, 4400, step) == [k * 1000 for k in range(4000, 4400, 40)]
    # not aligned: the first bucket starts before from_date; the last is dropped when it
    # starts within 0.9 interval of to_date (ClearML's cutoff), kept otherwise.
    assert len(rules.buckets(4001, 4401, step)) == 10
    assert rules.buckets(4001, 4401, step)[0] == 4000_000
    assert len(rules.buckets(4037, 4437, step)) == 11
    assert rules.buckets(10, 11, step) == []


def test_activity_buckets_always_drop_the_last_one_as_clearml_does() -> None:
    """ClearML's activity report drops its last bucket whatever the alignment (its cutoff
    compares ms with seconds): 400 s at 40 s is 10 buckets from any start, which its own
    test_get_activity_report asserts (the stats rule gave 11 for a start 37-39 s past a
    bucket boundary, and that test failed in CI one time in thirteen)."""
    step = rules.chart_interval(1)
    for start in range(4000, 4040):
        keys = rules.activity_buckets(start, start + 400, step)
        assert len(keys) == 10, start
        assert keys[0] == 4000_000
    assert rules.activity_buckets(4000, 4001, step) == []


def test_name_patterns_and_tag_filters() -> None:
    import re

    regex = re.compile(rules.glob_regex("gpu-*.host?"))
    assert regex.match("gpu-1.hostA")
    assert not regex.match("gpu-1xhostA")  # the dot is literal
    assert not regex.match("cpu-1.hostA")
    assert rules.split_tags(["a", "-b", "c"]) == (["a", "c"], ["b"])
    assert rules.split_tags(None) == ([], [])


def test_stream_ids_name_the_company() -> None:
    assert rules.stream_of("acme", "w:1") == "worker:4:acme:w:1"
    assert rules.stream_of("acme", "w") != rules.stream_of("other", "w")
    # A colon in a company or worker name cannot make two tenants share a stream.
    assert rules.stream_of("a", "b:c") != rules.stream_of("a:b", "c")


@pytest.mark.parametrize("reporting", [True, False])
def test_stop_asks_a_worker_that_still_reports_the_task(reporting: bool) -> None:
    """The task's own record of its worker is old (heartbeats are not events), but the
    worker's row says it reports the task: stop only asks it to stop."""
    old = {"last_worker": "worker-1", "last_worker_report": T1 - timedelta(seconds=3600)}
    context = structs.replace(ctx(), worker_reporting=reporting)
    _, after = run(task_in("in_progress", **old), cmd.StopTask(task=TASK_ID), context)
    assert after.status == ("in_progress" if reporting else "stopped")
    assert after.status_message == ("stopping" if reporting else "Stopped by alice")
