"""A replay of reported plots (issue 18): payloads read in bounded groups, memory flat in their
number, and the rows equal to the live path's (repeated keys, resets, deletions)."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.records import Recorded
from tasktrack.projections import copier, rebuild, registry
from tasktrack.projections.reported import ReportedEventsProjector
from tasktrack.queries.reported import IMAGE, PLOT
from tasktrack.service import Caller
from tasktrack.store import eventlog

REPORTED = ["task_reported_events"]


def _task(client: Client, name: str) -> str:
    task = str(client.create(name=name, type="training")["id"])
    client.started(task=task)
    return task


def _plot(task: str, it: int, metric: str, text: str) -> dict[str, Any]:
    return {"task": task, "type": PLOT, "iter": it, "metric": metric, "variant": "v",
            "plot_str": text, "timestamp": 1_000 + it}  # fmt: skip


def _figure(n: int, kb: int) -> str:
    """A plotly-like figure of about `kb` KB of numbers (which compress as real ones do)."""
    rng = random.Random(n)
    y = [round(rng.random(), 12) for _ in range(kb * 1024 // 16)]
    return json.dumps({"data": [{"type": "scatter", "y": y}], "layout": {"title": f"f{n}"}})


def _rows(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT * FROM task_reported_events").all())


def _fast_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay every event of the database by the fast path. The horizon is the server's: the
    transactions of other databases on a shared server would hold it back and leave the
    events to the tail (the live path's code). Here every event of this database is committed,
    so the replay may read below the transaction that asks."""

    def next_transaction(conn: Any) -> int:
        row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
        return int(row[0])

    monkeypatch.setattr(eventlog, "horizon", next_transaction)


def _spy_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many events each payload read of a replay asked for."""
    asked: list[int] = []
    original = eventlog.read_payloads

    def reading(conn: Any, positions: Sequence[int]) -> Iterator[Recorded]:
        asked.append(len(positions))
        return original(conn, positions)

    monkeypatch.setattr(eventlog, "read_payloads", reading)
    return asked


def test_a_replay_in_small_groups_makes_the_live_rows(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payloads read one event at a time, a few streams per group: the later report of a key
    still wins (its earlier row deleted at the end), a reset and delete_for_task still drop
    what came before, a deleted task keeps nothing; rebuild and verify agree with the live
    rows."""
    client = Client(own_engine, Caller(company="acme", user="ann"))
    kept, cleared, reset, gone = (_task(client, n) for n in ("kept", "cleared", "reset", "gone"))
    for round_ in range(4):
        for task in (kept, cleared, reset, gone):
            image = {"task": task, "type": IMAGE, "iter": 1, "metric": "i", "variant": "v"}
            client.add_events(
                [
                    _plot(task, round_ % 2, "p", f"{task} {round_} p"),
                    _plot(task, 7, "q", "q"),
                    {**image, "url": f"u{round_}"},
                ]
            )
        if round_ == 1:
            client.stopped(task=reset)
            client.reset(task=reset)
            client.delete_task_events(task=cleared)
    client.delete(task=gone, force=True)
    live = _rows(own_engine)
    assert {r[1] for r in live} == {kept, cleared, reset}
    _fast_path_only(monkeypatch)
    asked = _spy_reads(monkeypatch)
    monkeypatch.setattr(ReportedEventsProjector, "PENDING_EVENTS", 3)
    monkeypatch.setattr(eventlog, "PAYLOAD_BYTES", 1)  # one event a query
    assert rebuild.verify(own_engine, registry.select(REPORTED)) == []
    assert len(asked) > 1
    assert max(asked) <= 3 * 4  # a few streams' live reports at a time
    rebuild.rebuild(own_engine, registry.select(REPORTED))
    assert _rows(own_engine) == live


def _peak_of_rebuild(engine: Engine) -> int:
    tracemalloc.start()
    try:
        rebuild.rebuild(engine, registry.select(REPORTED))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_replay_holds_a_group_of_figures_not_all_of_a_task_s(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory a replay of reported plots holds (Python's, traced) is bounded by its read
    and write budgets, not by the number of figures: four times the figures of one task add
    less than a quarter of their size. Holding a task's figures whole (raw, decoded and
    re-encoded) would add several times their size."""
    monkeypatch.setattr(eventlog, "PAYLOAD_BYTES", 256 * 1024)
    monkeypatch.setattr(copier, "CHUNK_BYTES", 256 * 1024)
    _fast_path_only(monkeypatch)
    client = Client(own_engine, Caller(company="acme", user="ann"))
    task = _task(client, "plots")
    added = 0

    def report(figures: range) -> None:
        nonlocal added
        for n in figures:
            text = _figure(n, 200)
            client.add_events([_plot(task, n, "p", text)])
            added += len(text)

    report(range(16))
    small = _peak_of_rebuild(own_engine)
    before = added
    report(range(16, 64))
    big = _peak_of_rebuild(own_engine)
    assert len(_rows(own_engine)) == 64
    assert big - small < (added - before) / 4, (small, big, added - before)
