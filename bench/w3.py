"""W3: scalar points (tasks x series x iterations) in reports of 500, until last_metrics is right.

tasktrack: the metrics report path of the service (one compact event per report, inline
set-based aggregate upsert). Raw: COPY of the points into an indexed per-point table plus one
set-based INSERT ... ON CONFLICT DO UPDATE of the aggregates per batch, one commit per batch.
Run as a child process: `python -m bench.w3 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import psycopg

from bench import citus
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

SCALAR = "training_stats_scalar"


def value(task: int, series: int, it: int) -> float:
    """A deterministic, wiggly curve per series (so min, max and last are all different)."""
    return math.sin(task * 7.0 + series * 3.0 + it * 0.013) * (1.0 + series) + it * 1e-4


def names(series: int) -> tuple[str, str]:
    return f"metric{series // 2}", f"variant{series % 2}"


def batches(p: dict[str, Any]) -> Iterator[list[tuple[int, int, int]]]:
    """(task, series, iteration) of each report: every task reports its series for a block of
    iterations; tasks take turns, as concurrent jobs would."""
    per_block = p["batch"] // p["series"]
    for start in range(0, p["iters"], per_block):
        block = range(start, min(start + per_block, p["iters"]))
        for task in range(p["tasks"]):
            yield [(task, s, it) for it in block for s in range(p["series"])]


def expected(p: dict[str, Any], task: int, series: int) -> tuple[float, float, float]:
    """min, max and last of one series, computed independently of both implementations."""
    values = [value(task, series, it) for it in range(p["iters"])]
    return min(values), max(values), values[-1]


def _check(p: dict[str, Any], got: dict[tuple[int, int], tuple[float, float, float]]) -> str:
    for key, (lo, hi, last) in got.items():
        want = expected(p, *key)
        if (lo, hi, last) != want:
            return f"mismatch at {key}: got {(lo, hi, last)}, want {want}"
    return "ok"


def sample(p: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (t, s) for t in range(0, p["tasks"], max(1, p["tasks"] // 5)) for s in (0, p["series"] - 1)
    ]


def company(p: dict[str, Any], task: int) -> str:
    """The tenant of a task: one ("bench") by default, else tasks dealt round `tenants`
    companies (the Citus comparison spreads them over the workers)."""
    tenants = p.get("tenants", 1)
    return "bench" if tenants == 1 else f"bench{task % tenants}"


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    clients = {
        name: Client(engine, Caller(company=name, user="bench"))
        for name in {company(p, t) for t in range(p["tasks"])}
    }
    tenant = [clients[company(p, t)] for t in range(p["tasks"])]
    ids = [
        str(tenant[i].create(name=f"bench task {i}", type="training")["id"])
        for i in range(p["tasks"])
    ]
    for i, task_id in enumerate(ids):
        tenant[i].started(task=task_id)
    units = 0
    start = time.perf_counter()
    for batch in batches(p):  # one task's report: one tenant
        events = _report(p, ids, batch)
        units += tenant[batch[0][0]].add_events(events)["added"]
    seconds = time.perf_counter() - start
    got = {}
    for task, s in sample(p):
        metric, variant = names(s)
        lm = tenant[task].get_by_id(ids[task]).last_metrics or {}
        entry = next(
            e
            for by_v in lm.values()
            for e in by_v.values()
            if (e.metric, e.variant) == (metric, variant)
        )
        got[(task, s)] = (entry.min_value, entry.max_value, entry.value)
    engine.dispose()
    return RunResult(seconds=seconds, units=units, peak_rss_mb=peak_rss_mb(), check=_check(p, got))  # type: ignore[arg-type]


RAW_SCHEMA = """
CREATE TABLE points (task_id text, metric text, variant text, iter bigint, value float8,
                     ts bigint);
CREATE INDEX points_series_idx ON points (task_id, metric, variant, iter);
CREATE TABLE agg (task_id text, metric text, variant text, value float8, min_value float8,
                  min_iter bigint, max_value float8, max_iter bigint, count bigint,
                  PRIMARY KEY (task_id, metric, variant));
"""

# On a Citus cluster the raw tables are sharded by tenant as tasktrack's are (bench/citus.py):
# a `company` column leading every key, the points and aggregates co-located.
RAW_SCHEMA_CITUS = """
CREATE TABLE agg (company text, task_id text, metric text, variant text, value float8,
                  min_value float8, min_iter bigint, max_value float8, max_iter bigint,
                  count bigint, PRIMARY KEY (company, task_id, metric, variant));
CREATE TABLE points (company text, task_id text, metric text, variant text, iter bigint,
                     value float8, ts bigint);
CREATE INDEX points_series_idx ON points (company, task_id, metric, variant, iter);
"""

RAW_UPSERT = """
INSERT INTO agg AS a
SELECT task_id, metric, variant,
       (array_agg(value ORDER BY iter DESC))[1],
       min(value), (array_agg(iter ORDER BY value, iter))[1],
       max(value), (array_agg(iter ORDER BY value DESC, iter))[1],
       count(*)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::int8[], %s::float8[])
     AS b(task_id, metric, variant, iter, value)
GROUP BY 1, 2, 3
ON CONFLICT (task_id, metric, variant) DO UPDATE SET
    value = EXCLUDED.value,
    min_value = least(a.min_value, EXCLUDED.min_value),
    min_iter = CASE WHEN EXCLUDED.min_value < a.min_value
        THEN EXCLUDED.min_iter ELSE a.min_iter END,
    max_value = greatest(a.max_value, EXCLUDED.max_value),
    max_iter = CASE WHEN EXCLUDED.max_value > a.max_value
        THEN EXCLUDED.max_iter ELSE a.max_iter END,
    count = a.count + EXCLUDED.count
"""


# The same upsert with the tenant leading the key, pinned to one tenant per batch (a batch is
# one task's report) so that Citus routes it to one shard.
RAW_UPSERT_CITUS = (
    RAW_UPSERT.replace("INSERT INTO agg AS a\nSELECT ", "INSERT INTO agg AS a\nSELECT %s::text, ")
    .replace("GROUP BY 1, 2, 3", "GROUP BY 2, 3, 4")
    .replace("ON CONFLICT (task_id,", "ON CONFLICT (company, task_id,")
)


def _raw_schema(conn: psycopg.Connection[Any]) -> bool:
    """Create the raw tables (sharded on a cluster); True on a cluster."""
    on_citus = citus.is_citus(conn)
    conn.execute(RAW_SCHEMA_CITUS if on_citus else RAW_SCHEMA)
    if on_citus:
        citus.distribute_raw(conn, ["agg", "points"])
    conn.commit()
    return on_citus


def _raw_batch(
    conn: psycopg.Connection[Any],
    p: dict[str, Any],
    batch: list[tuple[int, int, int]],
    now: int,
    on_citus: bool,
) -> int:
    """One report: COPY its points, upsert its aggregates, commit."""
    tenant = [company(p, batch[0][0])] if on_citus else []
    rows = []
    for task, s, it in batch:
        metric, variant = names(s)
        rows.append((*tenant, f"task{task}", metric, variant, it, value(task, s, it), now))
    k = len(tenant)
    with conn.cursor() as cur:
        with cur.copy("COPY points FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            RAW_UPSERT_CITUS if on_citus else RAW_UPSERT,
            (*tenant, *([r[k + i] for r in rows] for i in range(5))),
        )
    conn.commit()
    return len(rows)


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    units = 0
    with psycopg.connect(citus.libpq(url)) as conn:
        on_citus = _raw_schema(conn)
        now = int(time.time() * 1000)
        start = time.perf_counter()
        for batch in batches(p):
            units += _raw_batch(conn, p, batch, now, on_citus)
        seconds = time.perf_counter() - start
        got = {}
        for task, s in sample(p):
            metric, variant = names(s)
            row = conn.execute(
                "SELECT min_value, max_value, value FROM agg WHERE task_id = %s AND metric = %s "
                "AND variant = %s",
                (f"task{task}", metric, variant),
            ).fetchone()
            assert row is not None
            got[(task, s)] = (row[0], row[1], row[2])
    return RunResult(seconds=seconds, units=units, peak_rss_mb=peak_rss_mb(), check=_check(p, got))


def _report(p: dict[str, Any], ids: list[str], batch: list[tuple[int, int, int]]) -> list[Any]:
    events = []
    for task, s, it in batch:
        metric, variant = names(s)
        events.append(
            {
                "task": ids[task],
                "type": SCALAR,
                "metric": metric,
                "variant": variant,
                "iter": it,
                "value": value(task, s, it),
            }
        )
    return events


def probe_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    """One task's first and second report of `batch` points on a cluster, counted (the first
    creates the series, the second updates them; tests/citus.py, Probe)."""
    probe = citus.Probe(url)
    client = Client(probe.engine, Caller(company=company(p, 0), user="bench"))
    try:
        task = str(client.create(name="w3 probe task", type="training")["id"])
        client.started(task=task)
        first, second = (b for b, _ in zip(batches({**p, "tasks": 1}), range(2), strict=False))
        per = {
            "add_events (first report)": probe.count(
                lambda: client.add_events(_report(p, [task], first))
            ),
            "add_events (next report)": probe.count(
                lambda: client.add_events(_report(p, [task], second))
            ),
        }
    finally:
        probe.close()
    return RunResult(seconds=0, units=0, peak_rss_mb=peak_rss_mb(), extra=per)


def probe_raw(url: str, p: dict[str, Any]) -> RunResult:
    """The raw baseline's report (COPY, upsert, commit) once on a cluster, counted."""
    with psycopg.connect(citus.libpq(url)) as conn:
        on_citus = _raw_schema(conn)
    probe = citus.Probe(url)
    first = next(batches({**p, "tasks": 1}))

    def report() -> None:
        with probe.connect() as conn:
            _raw_batch(conn, p, first, 0, on_citus)

    try:
        per = {"report": probe.count(report)}
    finally:
        probe.close()
    return RunResult(seconds=0, units=0, peak_rss_mb=peak_rss_mb(), extra=per)


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    iters = 100 if quick else 1000
    return {"tasks": 100, "series": 10, "iters": int(iters * scale), "batch": 500}


if __name__ == "__main__":
    child_main(
        {
            "tasktrack": run_tasktrack,
            "raw": run_raw,
            "probe-tasktrack": probe_tasktrack,
            "probe-raw": probe_raw,
        }
    )
