"""Bounded reads of a task's series and log: the answers against independent computations, and
the rows read, which must follow the page asked for, not the task's history (issue 22)."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from tasktrack.api import Client
from tasktrack.domain.errors import TaskNotFound
from tasktrack.projections.series_ids import series_id
from tasktrack.queries import logs as log_queries
from tasktrack.queries import metrics as metric_queries

SCALAR = "training_stats_scalar"
# (run, metric, variant) -> iter -> (value, timestamp), as an independent reading of §4.
Reference = dict[tuple[int, str, str], dict[int, tuple[float, int]]]


def _task(client: Client) -> str:
    task = str(client.create(name="bounded reads", type="training")["id"])
    client.started(task=task)
    return task


def _scalar(task: str, metric: str, variant: str, it: int, value: float, ts: int = 0) -> Any:
    return {
        "task": task, "type": SCALAR, "metric": metric, "variant": variant, "iter": it,
        "value": value, "timestamp": ts,
    }  # fmt: skip


def _report(client: Client, events: list[Any], size: int = 5000) -> None:
    for start in range(0, len(events), size):
        client.add_events(events[start : start + size])


def expected_histogram(
    points: dict[int, tuple[float, int]], samples: int
) -> tuple[list[int], list[float], list[int]]:
    """ClearML's sampling, brute force over every point: x, y and each bucket's last time."""
    iters = sorted(points)
    if len(iters) < samples:
        step = 1
    else:
        step = max(1, math.ceil(Fraction(iters[-1] - iters[0] + 1, samples)))
    buckets: dict[int, list[int]] = {}
    for it in iters:
        buckets.setdefault(it // step * step, []).append(it)
    xs, ys, stamps = [], [], []
    for x, members in sorted(buckets.items()):
        finite = [points[i][0] for i in members if math.isfinite(points[i][0])]
        last = points[members[-1]]
        xs.append(x)
        ys.append(float(sum(map(Fraction, finite)) / len(finite)) if finite else last[0])
        stamps.append(last[1])
    return xs, ys, stamps


def _same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-12)
        for g, w in zip(got, want, strict=True)
    )


def test_clearml_histogram_example(client: Client) -> None:
    """ClearML's own test: 100 points, iter 0..99, value = iter."""
    task = _task(client)
    client.add_events([_scalar(task, "m", "v", i, float(i)) for i in range(100)])
    whole = client.get_scalar_series(task, samples=100)["m"]["v"]
    assert (whole.x, whole.y) == (list(range(100)), [float(i) for i in range(100)])
    ten = client.get_scalar_series(task, samples=10)["m"]["v"]
    assert ten.x == list(range(0, 100, 10))
    assert ten.y == [i * 10 + 4.5 for i in range(10)]
    assert client.get_scalar_series(task)["m"]["v"].x == list(range(100))  # default 6000


@pytest.mark.parametrize("seed", range(6))
def test_means_equal_a_python_computation(client: Client, seed: int) -> None:
    """Random series in random reports: out of order, repeated iterations (the later report
    wins), NaN and infinities (kept, out of the means), negative iterations, two series."""
    rng = random.Random(seed)
    task = _task(client)
    reference: dict[tuple[str, str], dict[int, tuple[float, int]]] = {}
    span = rng.choice([50, 400, 3000])
    for report in range(rng.randint(3, 8)):
        events = []
        for _ in range(rng.randint(1, 600)):
            series = rng.choice([("loss", "train"), ("acc", "")])
            it = rng.randint(-span // 10, span)
            roll = rng.random()
            value = (
                rng.choice([math.nan, math.inf, -math.inf])
                if roll < 0.05
                else rng.uniform(-1e3, 1e3) * 10 ** rng.randint(-6, 6)
            )
            ts = report * 1000 + len(events)
            events.append(_scalar(task, *series, it, value, ts))
            reference.setdefault(series, {})[it] = (value, ts)
        client.add_events(events)
    for samples in (1, 7, 100, 6000):
        got = client.get_scalar_series(task, samples=samples)
        for (metric, variant), points in reference.items():
            view = got[metric][variant]
            xs, ys, stamps = expected_histogram(points, samples)
            assert view.x == xs
            assert _same(view.y, ys), (samples, metric, variant)
            assert view.timestamps == stamps


def test_resets_start_a_new_run_and_all_runs_samples_each(client: Client) -> None:
    task = _task(client)
    _report(client, [_scalar(task, "m", "v", i, float(i)) for i in range(50)])
    client.reset(task=task)
    client.started(task=task)
    client.add_events([_scalar(task, "m", "v", i, 100.0 + i) for i in range(0, 30, 3)])
    current = client.get_scalar_series(task, samples=5)["m"]["v"]
    assert current.x == [0, 6, 12, 18, 24]
    assert current.y == [101.5, 107.5, 113.5, 119.5, 125.5]
    everything = client.get_scalar_series(task, all_runs=True, samples=5)["m"]["v"]
    assert everything.x == [0, 10, 20, 30, 40, 0, 6, 12, 18, 24]
    assert everything.runs == [0] * 5 + [1] * 5
    assert everything.y[:5] == [4.5, 14.5, 24.5, 34.5, 44.5]
    client.reset(task=task)
    assert client.get_scalar_series(task) == {}  # the new run has no points yet
    assert len(client.get_scalar_series(task, all_runs=True)["m"]["v"].x) == 60


def test_samples_outside_the_range_mean_the_cap(client: Client) -> None:
    """20,000 points at every other iteration: 20,000 samples would show each point, the cap
    (10,000) shows buckets of two; 0, negative and over-the-cap all mean the cap."""
    task = _task(client)
    _report(client, [_scalar(task, "m", "v", i, float(i)) for i in range(0, 40_000, 2)])
    capped = metric_queries.MAX_SAMPLES
    for samples in (0, -3, 20_000, 10**9, capped):
        view = client.get_scalar_series(task, samples=samples)["m"]["v"]
        assert view.x == list(range(0, 40_000, 4)), samples
        assert view.y[:2] == [1.0, 5.0]
    assert len(client.get_scalar_series(task, samples=capped - 1)["m"]["v"].x) < capped


def test_extreme_iterations(client: Client) -> None:
    task = _task(client)
    lo, hi = -(2**63), 2**63 - 1
    client.add_events([_scalar(task, "m", "v", it, 1.0) for it in (lo, -1, 0, hi)])
    view = client.get_scalar_series(task, samples=2)["m"]["v"]
    assert view.x == [lo, 0]
    assert view.y == [1.0, 1.0]


def _points_of(engine: Engine, company: str, task: str) -> int:
    """Points of the task's first two runs' series of (m, v): points carry their series' id,
    not the task, so the ids are computed here independently."""
    ids = [series_id(company, task, run, "m", "v") for run in (0, 1)]
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM task_metric_points WHERE company = %(c)s "
                "AND series_id = ANY(%(ids)s)",
                {"c": company, "ids": ids},
            ).scalar_one()
        )


def test_a_deleted_task_leaves_the_series_and_log_tables(client: Client, engine: Engine) -> None:
    task = _task(client)
    client.add_events([_scalar(task, "m", "v", 1, 1.0), {"task": task, "type": "log", "msg": "x"}])
    client.reset(task=task)
    assert _points_of(engine, client.caller.company, task) == 1
    client.delete(task=task, force=True)
    assert _points_of(engine, client.caller.company, task) == 0
    tables = ("task_metric_series", "task_runs", "task_log_lines")
    with engine.connect() as conn:
        for table in tables:
            left = conn.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE task_id = %(t)s", {"t": task}
            ).scalar_one()
            assert left == 0, table
    with pytest.raises(TaskNotFound):
        client.get_task_log(task)
    with pytest.raises(TaskNotFound):
        client.get_scalar_series(task)


def _lines(client: Client, task: str, rng: random.Random, n: int) -> list[tuple[int, str]]:
    """n lines in random reports, timestamps with many ties; (timestamp, msg) in arrival order."""
    sent: list[tuple[int, str]] = []
    while len(sent) < n:
        batch = [
            (rng.randint(0, n // 4), f"line {len(sent) + i}") for i in range(rng.randint(1, 300))
        ]
        batch = batch[: n - len(sent)]
        client.add_events(
            [{"task": task, "type": "log", "msg": m, "timestamp": ts} for ts, m in batch]
        )
        sent += batch
    return sent


def test_log_pages_both_ways_match_an_independent_sort(client: Client) -> None:
    rng = random.Random(7)
    task = _task(client)
    sent = _lines(client, task, rng, 2000)
    arrival = {m: i for i, (_, m) in enumerate(sent)}
    newest = sorted(sent, key=lambda x: (-x[0], arrival[x[1]]))
    oldest = sorted(sent, key=lambda x: (x[0], arrival[x[1]]))
    for size in (1, 37, 500):
        for earlier, order in ((True, newest), (False, oldest)):
            page = client.get_task_log(task, batch_size=size, navigate_earlier=earlier)
            assert page.total == len(sent)
            assert [(e.timestamp, e.msg) for e in page.events] == order[:size]
        for bound in (0, 17, 250, 600):
            before = client.get_task_log(task, batch_size=size, from_timestamp=bound)
            assert [(e.timestamp, e.msg) for e in before.events] == [
                x for x in newest if x[0] < bound
            ][:size]
            after = client.get_task_log(
                task, batch_size=size, navigate_earlier=False, from_timestamp=bound
            )
            assert [(e.timestamp, e.msg) for e in after.events] == [
                x for x in oldest if x[0] > bound
            ][:size]


def test_log_lines_keep_nul_and_every_field(client: Client) -> None:
    task = _task(client)
    lines = [
        {"task": task, "type": "log", "msg": "a\x00b", "level": "warn\x00", "worker": "w\x00",
         "timestamp": 5, "iter": 3},
        {"task": task, "type": "log", "msg": "plain \\u0000 text", "timestamp": 6},
        {"task": task, "type": "log", "msg": "ünïcode", "worker": "w1", "timestamp": 7, "iter": -2},
    ]  # fmt: skip
    client.add_events(lines)
    got = client.get_task_log(task, navigate_earlier=False).events
    assert [(e.msg, e.level, e.worker, e.iter) for e in got] == [
        ("a\x00b", "warn\x00", "w\x00", 3),
        ("plain \\u0000 text", "info", None, None),
        ("ünïcode", "info", "w1", -2),
    ]


# --- the work done: rows read from the tables, counted by PostgreSQL in the transaction ------


def _rows_read(conn: Connection, table: str) -> int:
    """Rows of `table` read by index or sequential scans, as counted for this backend's
    transaction (pg_stat_xact_user_tables; it may hold earlier transactions' counts not yet
    reported, so callers take differences within one transaction)."""
    return int(
        conn.exec_driver_sql(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = %(t)s",
            {"t": table},
        ).scalar_one()
    )


def _read_cost(engine: Engine, company: str, task: str, samples: int) -> tuple[int, int]:
    """Rows of task_metric_points read by one histogram, and of task_log_lines by two pages."""
    with engine.connect() as conn:
        before = _rows_read(conn, "task_metric_points"), _rows_read(conn, "task_log_lines")
        metric_queries.scalar_series(conn, company, task, samples=samples)
        log_queries.task_log(conn, company, task, batch_size=500, from_timestamp=10**15)
        log_queries.task_log(conn, company, task, batch_size=500, navigate_earlier=False)
        after = _rows_read(conn, "task_metric_points"), _rows_read(conn, "task_log_lines")
        conn.rollback()
    return after[0] - before[0], after[1] - before[1]


def test_reads_follow_the_page_not_the_history(
    client: Client, engine: Engine, company: str
) -> None:
    """A histogram reads O(samples) points and a log page O(batch_size) lines, the same for a
    task of 6,000 points as for one of 60,000 (10x): the statements probe and page indexes."""
    costs = {}
    for n in (6_000, 60_000):
        task = _task(client)
        _report(client, [_scalar(task, "m", "v", i, float(i % 97)) for i in range(n)])
        _report(
            client,
            [{"task": task, "type": "log", "msg": f"l{i}", "timestamp": i} for i in range(n)],
        )
        costs[n] = _read_cost(engine, company, task, samples=100)
    for n, (series, lines) in costs.items():
        assert series <= 2 * 101, (n, series)  # one probe per bucket (and its neighbour)
        # Two pages, each: where it ends (500 index entries), its lines (500), the total (1).
        assert lines <= 2 * (2 * 500 + 1), (n, lines)
    assert costs[60_000] == costs[6_000]


def _comparable(value: Any) -> Any:
    """NaN equal to NaN, so rows compare as PostgreSQL compares them."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def test_migration_0012_backfills_what_the_projectors_write(own_engine: Engine) -> None:
    """A database with a history (series with resets, repeats, NaN; log lines with NUL; a
    deleted task) downgraded below 0012 and upgraded again: the backfilled tables hold the
    rows the inline projectors had written, and equal a replay."""
    from tasktrack.projections import rebuild, registry
    from tasktrack.service import Caller
    from tasktrack.store import migrate

    client = Client(own_engine, Caller(company="acme", user="ann"))
    kept, gone = _task(client), _task(client)
    for task in (kept, gone):
        client.add_events(
            [_scalar(task, "loss", "", i, [0.5, math.nan, 1e-300, -2.0][i % 4]) for i in range(9)]
            + [_scalar(task, "loss", "", 3, 7.25), _scalar(task, "acc", "x", -4, math.inf)]
            + [
                {"task": task, "type": "log", "msg": f"m\x00{i}", "timestamp": 9 - i}
                for i in range(4)
            ]
        )
    client.reset(task=kept)
    client.add_events([_scalar(kept, "loss", "", 1, 0.1), _scalar(kept, "loss", "", 0, 0.2)])
    client.add_events([{"task": kept, "type": "log", "msg": "after", "worker": "w"}])
    client.delete(task=gone, force=True)
    tables = ("task_log_lines", "task_metric_points", "task_metric_series", "task_runs")

    def snapshot() -> dict[str, set[tuple[Any, ...]]]:
        with own_engine.connect() as conn:
            return {
                t: {tuple(map(_comparable, r)) for r in conn.exec_driver_sql(f"SELECT * FROM {t}")}
                for t in tables
            }

    written = snapshot()
    assert all(written[t] for t in tables)
    migrate.downgrade(own_engine, "0011")  # not below: 0011 keeps rule-2 events verifiable
    migrate.upgrade(own_engine)
    assert snapshot() == written
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []


def test_a_replay_in_small_chunks_equals_the_live_rows(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay batch is written a chunk of reports at a time: with chunks of 3 points, the
    repeats, earlier iterations and resets of one batch fall across chunk boundaries, and the
    rebuilt rows must still equal the live ones (written a report at a time)."""
    from tasktrack.projections import metric_points, rebuild, registry
    from tasktrack.service import Caller

    client = Client(own_engine, Caller(company="acme", user="ann"))
    task = _task(client)
    client.add_events([_scalar(task, "m", "v", i, float(i)) for i in range(5)])
    client.add_events([_scalar(task, "m", "v", i, 10.0 + i) for i in (2, 7, 1, 7)])
    client.reset(task=task)
    client.started(task=task)
    client.add_events([_scalar(task, "m", "v", i, 0.5) for i in (3, 0, 3)])
    client.add_events([_scalar(task, "m", "w", -1, math.nan), _scalar(task, "m", "v", 1, 2.0)])
    monkeypatch.setattr(metric_points, "CHUNK_POINTS", 3)
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    everything = client.get_scalar_series(task, all_runs=True)["m"]["v"]
    assert everything.x == [0, 1, 2, 3, 4, 7, 0, 1, 3]
    assert everything.y == [0.0, 11.0, 12.0, 3.0, 4.0, 17.0, 0.5, 2.0, 0.5]
