"""W9: one task's log page and histogram at 10x, 100x, 1000x its size: latency must stay flat.

Per size N (quick: 1,000, 10,000, 100,000; full: 10,000, 100,000, 1,000,000) one task gets N
scalar points (one series, iterations 0..N-1) and N console lines, written once through the
service (prepare). Then get_task_log (page of 500, newest first and oldest first from a random
timestamp) and scalar_metrics_iter_histogram (samples 6,000 and 100) are timed on each task:
p50/p99 in ms per query and size. No raw baseline: the figure is the ratio across sizes.
Run as a child: `python -m bench.w9 tasktrack URL PARAMS`.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.harness import RunResult, child_main, peak_rss_mb, percentiles, timed
from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

COMPANY = "bench"
REPORT = 5000  # points or lines per events.add_batch


def value(it: int) -> float:
    return float(it % 97)


def _point(task: str, it: int) -> dict[str, Any]:
    return {
        "task": task, "type": "training_stats_scalar", "metric": "loss", "variant": "train",
        "value": value(it), "iter": it, "timestamp": it,
    }  # fmt: skip


def _point(task: str, it: int) -> dict[str, Any]:
    return {
        "task": task, "type": "training_stats_scalar", "metric": "loss", "variant": "train",
        "value": value(it), "iter": it, "timestamp": it,
    }  # fmt: skip


def prepare(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=COMPANY, user="bench"))
    tasks = {}
    for n in p["sizes"]:
        task = str(client.create(name=f"w9 task {n}", type="training")["id"])
        client.started(task=task)
        for start in range(0, n, REPORT):
            its = range(start, min(n, start + REPORT))
            client.add_events([_point(task, i) for i in its])
            client.add_events(
                [
                    {"task": task, "type": "log", "msg": f"line {i}", "timestamp": i // 2}
                    for i in its
                ]
            )
        tasks[str(n)] = task
    engine.dispose()
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {**p, "tasks": tasks}


def _check(client: Client, task: str, n: int) -> str:
    """The answers, against what was written: pages of 500, and the histogram's buckets."""
    page = client.get_task_log(task, batch_size=500)
    if page.total != n or [e.msg for e in page.events[:2]] != [f"line {n - 2}", f"line {n - 1}"]:
        return f"log of {n}: total {page.total}, first {page.events[:2]}"
    view = client.get_scalar_series(task, samples=100)["loss"]["train"]
    step = -(-n // 100)
    want_y = [
        sum(value(i) for i in range(x, min(n, x + step))) / len(range(x, min(n, x + step)))
        for x in range(0, n, step)
    ]
    if view.x != list(range(0, n, step)) or any(
        abs(a - b) > 1e-9 for a, b in zip(view.y, want_y, strict=True)
    ):
        return f"histogram of {n}: x {view.x[:3]}…, y {view.y[:3]}…"
    return "ok"


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=COMPANY, user="bench"))
    rng = random.Random(9)
    gc.collect()
    gc.freeze()  # as `tasktrack serve` does after start-up
    repeats = p["repeats"]
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    check = "ok"
    for size, task in p["tasks"].items():
        n = int(size)
        results = {
            "log_latest": timed(lambda t=task: client.get_task_log(t, batch_size=500), repeats),
            "log_from": timed(
                lambda t=task, n=n: client.get_task_log(
                    t,
                    batch_size=500,
                    navigate_earlier=rng.random() < 0.5,
                    from_timestamp=rng.randrange(n // 2),
                ),
                repeats,
            ),
            "histogram_6000": timed(
                lambda t=task: client.get_scalar_series(t, samples=6000), repeats
            ),
            "histogram_100": timed(
                lambda t=task: client.get_scalar_series(t, samples=100), repeats
            ),
        }
        for name, ms in results.items():
            extra[f"{name}@{n}"] = percentiles(ms)
        if check == "ok":
            check = _check(client, task, n)
    seconds = time.perf_counter() - start
    engine.dispose()
    return RunResult(
        seconds=seconds,
        units=repeats * 4 * len(p["tasks"]),
        peak_rss_mb=peak_rss_mb(),
        check=check,
        extra=extra,
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    sizes = [1_000, 10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    return {"sizes": [int(s * scale) for s in sizes], "repeats": 30 if quick else 100}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack})
