"""Workers against PostgreSQL: facts in the log, heartbeats as rows, silence recorded once,
the stats series bounded, and a task live for `stop` while its worker reports it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain import state as task_state
from tasktrack.domain import workers as rules
from tasktrack.domain.errors import DomainError
from tasktrack.queries.worker_stats import StatItem
from tasktrack.queries.workers import WorkerFilter
from tasktrack.store import workerrows
from tests.integration.task_commands_support import (
    codes,
    event_count,
    expect_error,
    stream_types,
    task_in,
)

STATS: dict[str, Any] = {"cpu_usage": [10, 20], "memory_used": 50}


def _report(client: Client, worker: str, **f: Any) -> None:
    client.worker_status_report(worker=worker, machine_stats=STATS, **f)


def _reports(engine: Engine, company: str, worker: str) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq FROM worker_reports WHERE company = :c AND worker = :w ORDER BY seq"),
            {"c": company, "w": worker},
        )
        return [r[0] for r in rows]


def _ids(client: Client, **f: Any) -> list[str]:
    return [w.id for w in client.get_workers(WorkerFilter(**f))]


def test_heartbeats_append_nothing_only_a_change_of_task_does(
    client: Client, engine: Engine, company: str
) -> None:
    task = task_in(client, "in_progress")
    client.register_worker(worker="w1", tags=["gpu"])
    _report(client, "w1", task=task)
    after_take = event_count(engine, company)
    for _ in range(30):
        _report(client, "w1", task=task)
    assert event_count(engine, company) == after_take
    assert _reports(engine, company, "w1") == list(range(1, 32))
    _report(client, "w1")  # it finished the task
    stream = rules.stream_of(company, "w1")
    assert stream_types(engine, stream) == ["WorkerRegistered", "WorkerTookTask", "WorkerLeftTask"]
    assert stream_types(engine, task)[-1] == "WorkerReported"  # once, when it took the task
    assert stream_types(engine, task).count("WorkerReported") == 1
    (worker,) = client.get_workers()
    assert (worker.id, worker.task, worker.tags) == ("w1", None, ["gpu"])
    assert worker.last_report_time is not None


def test_a_report_from_an_unknown_worker_registers_it(
    client: Client, engine: Engine, company: str
) -> None:
    _report(client, "w2")
    assert _ids(client) == ["w2"]
    assert stream_types(engine, rules.stream_of(company, "w2")) == ["WorkerRegistered"]
    (worker,) = client.get_workers()
    assert worker.register_timeout == rules.DEFAULT_TIMEOUT


def test_a_silent_worker_disappears_and_its_silence_is_recorded_once(
    client: Client, engine: Engine, company: str
) -> None:
    task = task_in(client, "in_progress")
    client.register_worker(worker="quiet", timeout=1)
    _report(client, "quiet", task=task)
    client.register_worker(worker="alive", timeout=60)
    assert _ids(client) == ["alive", "quiet"]
    time.sleep(1.3)
    # Many callers notice at once: the silence is recorded by exactly one of them.
    noted: list[Any] = []
    threads = [
        threading.Thread(target=lambda: noted.append(client.note_silent_workers()))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n["silent"] for n in noted) == [0, 0, 0, 1]
    assert _ids(client) == ["alive"]
    assert client.count_workers() == 1
    assert stream_types(engine, rules.stream_of(company, "quiet")) == [
        "WorkerRegistered",
        "WorkerTookTask",
        "WorkerLeftTask",
        "WorkerWentSilent",
    ]
    # It comes back: registered again (its history goes on in the same stream).
    _report(client, "quiet")
    assert _ids(client) == ["alive", "quiet"]
    assert stream_types(engine, rules.stream_of(company, "quiet"))[-1] == "WorkerRegistered"


def test_a_worker_whose_silence_nobody_noticed_records_it_when_it_comes_back(
    client: Client, engine: Engine, company: str
) -> None:
    client.register_worker(worker="back", timeout=1)
    time.sleep(1.2)
    client.register_worker(worker="back", timeout=1)
    assert stream_types(engine, rules.stream_of(company, "back")) == [
        "WorkerRegistered",
        "WorkerWentSilent",
        "WorkerRegistered",
    ]


def test_unregister_and_refusals_write_nothing(
    client: Client, engine: Engine, company: str
) -> None:
    assert client.unregister_worker(worker="never") == {}
    before = event_count(engine, company)
    expect_error((400, 1002), client.register_worker, worker="w", timeout=-1)
    err = expect_error((400, 701), client.register_worker, worker="w", queues=["no-such-queue"])
    assert "no-such-queue" in err.message
    assert event_count(engine, company) == before
    assert _ids(client) == []
    client.register_worker(worker="w")
    client.unregister_worker(worker="w")
    client.unregister_worker(worker="w")  # again: nothing more
    assert stream_types(engine, rules.stream_of(company, "w")) == [
        "WorkerRegistered",
        "WorkerUnregistered",
    ]
    assert _ids(client, last_seen=0) == []


def test_listening_to_queues_by_id_and_filters(client: Client) -> None:
    task = task_in(client, "created")
    client.enqueue(task=task, queue_name="gpus")
    queue = client.get_by_id(task).execution
    assert queue is not None
    assert isinstance(queue.queue, str)
    client.register_worker(worker="g1", queues=[queue.queue], tags=["a"], system_tags=["s"])
    client.register_worker(worker="c1", tags=["b"])
    (g1,) = client.get_workers(WorkerFilter(worker_pattern="g?"))
    assert [(q.id, q.name) for q in g1.queues] == [(queue.queue, "gpus")]
    assert _ids(client, tags=["a", "b"]) == ["c1", "g1"]
    assert _ids(client, tags=["-a"]) == ["c1"]
    assert _ids(client, system_tags=["s"], tags=["a"]) == ["g1"]
    assert _ids(client, worker_pattern="*1") == ["c1", "g1"]
    # What the queues service lists per queue (ClearML's queues.get_all_ex "workers").
    listening = client.queue_workers([queue.queue, "other"])
    assert listening["other"] == []
    (entry,) = listening[queue.queue]
    assert (entry.name, entry.ip, entry.task) == ("g1", None, None)
    assert entry.key == f"worker_{client.caller.company}_alice_g1"


def test_the_stats_series_is_bounded(
    client: Client, engine: Engine, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workerrows, "MAX_REPORTS", 5)
    for _ in range(12):
        _report(client, "busy")
    client.worker_status_report(worker="busy")  # no stats: no row
    assert _reports(engine, company, "busy") == [8, 9, 10, 11, 12]


def test_gone_workers_are_purged_after_the_retention(
    client: Client, engine: Engine, company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report(client, "old")
    client.unregister_worker(worker="old")
    client.note_silent_workers()
    assert _reports(engine, company, "old") == [1]  # kept: within the retention
    from datetime import timedelta

    monkeypatch.setattr(rules, "RETENTION", timedelta(0))
    client.note_silent_workers()
    assert _reports(engine, company, "old") == []
    # Its facts stay in the log, and its stream goes on when it comes back.
    assert stream_types(engine, rules.stream_of(company, "old"))[-1] == "WorkerUnregistered"
    _report(client, "old")
    assert stream_types(engine, rules.stream_of(company, "old")) == [
        "WorkerRegistered",
        "WorkerUnregistered",
        "WorkerRegistered",
    ]
    assert _reports(engine, company, "old") == [1]


def test_a_task_stays_live_for_stop_while_its_worker_reports_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = task_in(client, "in_progress")
    _report(client, "runner", task=task)
    # The task's own record of its worker (the take) ages out of the liveness window...
    monkeypatch.setattr(task_state, "LIVE_WORKER_SECONDS", 0.5)
    time.sleep(0.6)
    _report(client, "runner", task=task)  # ...but the worker still reports it (a row)
    client.stop(task=task)
    assert client.get_by_id(task).status_message == "stopping"
    assert client.get_by_id(task).status == "in_progress"
    _report(client, "runner")  # it dropped the task: nobody runs it any more
    client.stop(task=task)
    assert client.get_by_id(task).status == "stopped"


def test_stats_and_activity_over_time(client: Client) -> None:
    start = 1_700_000_000  # a multiple of 40
    task = task_in(client, "in_progress")
    gpu = [{"gpu_usage": [60, 70]}, {"gpu_usage": [40]}]
    for i in range(4):
        at = (start + 120 * i) * 1000
        client.worker_status_report(
            worker="w0", task=task, timestamp=at, machine_stats={**STATS, **gpu[0]}
        )
        if i < 2:
            client.worker_status_report(
                worker="w1", timestamp=at + 60_000, machine_stats={"cpu_usage": [5], **gpu[1]}
            )
    items = [StatItem(key="cpu_usage", aggregation="avg"), StatItem(key="gpu_usage")]
    found = client.worker_stats(items, start, start + 400, 1, split_by_resource=True)
    by_worker = {w.worker: w for w in found}
    assert set(by_worker) == {"w0", "w1"}
    cpu, gpu_stats = (m.stats[0] for m in by_worker["w0"].metrics)
    assert len(cpu.dates) == 10
    assert cpu.dates[0] == start * 1000
    assert cpu.values[0] == 15.0
    assert cpu.values[3] == 15.0
    assert cpu.values[1] == 0.0
    assert [s.name for s in gpu_stats.resource_series] == ["0", "1"]
    assert gpu_stats.resource_series[1].values[0] == 70.0
    assert by_worker["w1"].metrics[1].stats[0].resource_series == []  # one GPU: no split
    report = client.worker_activity(start, start + 400, 2)
    assert len(report.total.dates) == 10
    assert sum(report.total.counts) == 6
    assert sum(report.active.counts) == 4
    keys = client.worker_metric_keys(["w1"])
    assert {(c.name, tuple(c.metric_keys)) for c in keys} == {
        ("cpu", ("cpu_usage",)),
        ("gpu", ("gpu_usage",)),
    }
    with pytest.raises(DomainError) as exc:
        client.worker_metric_keys(["nobody"])
    assert codes(exc.value) == (400, 1005)
    with pytest.raises(DomainError) as exc:
        client.worker_activity(start, start, 40)
    assert codes(exc.value) == (400, 16)


def test_values_postgresql_refuses_are_bad_filters(client: Client) -> None:
    """Through the Python API (HTTP refuses a NUL before it gets here): 400/16, not a 5xx."""
    for call in (
        lambda: client.get_workers(WorkerFilter(worker_pattern="w\x00")),
        lambda: client.worker_metric_keys(["w\x00"]),
        lambda: client.worker_stats([StatItem(key="k\x00")], 0, 100, 40),
        lambda: client.worker_activity(0, 1e300, 40),
    ):
        with pytest.raises(DomainError) as exc:
            call()
        assert codes(exc.value) == (400, 16)


def test_a_worker_running_a_public_task_keeps_reporting(
    client: Client, engine: Engine, company: str
) -> None:
    """A public task is read-only (403/21 for changes): the worker's heartbeat is not refused,
    its own stream says it took the task, and the task's stream is left alone."""
    task = task_in(client, "in_progress")
    client.make_tasks_public(ids=[task])
    before = stream_types(engine, task)
    _report(client, "pub", task=task)
    _report(client, "pub", task=task)
    assert stream_types(engine, task) == before
    assert stream_types(engine, rules.stream_of(company, "pub"))[-1] == "WorkerTookTask"
    (worker,) = client.get_workers()
    assert worker.task is not None
    assert worker.task.id == task
