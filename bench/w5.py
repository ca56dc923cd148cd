"""W5: query latencies on N tasks: get_by_id, a filtered get_all, a status history, and a
task as of a past time (a 1,000-event stream). Reports p50/p99 in ms (no raw baseline).

The tasks come from a synthetic log (bench/synthlog.py), imported once (prepare).
Run as a child: `python -m bench.w5 tasktrack URL PARAMS`.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench import synthlog
from bench.harness import RunResult, child_main, peak_rss_mb, percentiles, timed
from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.service import Caller
from tasktrack.store import archive, archive_files
from tasktrack.store.engine import make_engine, raw


def prepare(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    path = workdir / f"w5-{p['tasks']}.jsonl"
    ids = synthlog.generate(path, p["tasks"], seed=5, long_task_events=1000)
    engine = make_engine(url, pool_size=2)
    with engine.connect() as conn:
        archive.import_events(
            raw(conn), archive_files.read_archive(path), origin=archive.Origin(unsigned=True)
        )
    rebuild.rebuild(engine, list(registry.PROJECTORS))
    engine.dispose()
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        sample = [r[0] for r in conn.execute("SELECT id FROM tasks ORDER BY md5(id) LIMIT 1000")]
        conn.execute("ANALYZE")
    return {**p, "long": ids["long"], "sample": sample}


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=synthlog.COMPANY, user="ann"))
    rng = random.Random(5)
    sample: list[str] = p["sample"]
    long_task: str = p["long"]
    history = client.get_status_history(long_task)
    created = client.get_by_id(long_task).created
    # What a long-running service does after start-up, as `tasktrack serve` does
    # (http/app.py, _freeze_startup_heap): full collections no longer walk this process's
    # start-up objects, each pass of which costs about 40 ms here.
    gc.collect()
    gc.freeze()
    middle = created + timedelta(seconds=60 * 1000)
    repeats = p["repeats"]
    start = time.perf_counter()
    results = {
        "get_by_id": timed(lambda: client.get_by_id(rng.choice(sample)), repeats),
        "get_all": timed(
            lambda: client.get_all(
                status=["completed", "in_progress"],
                project=[rng.choice(synthlog.PROJECTS)],
                tags=[rng.choice(synthlog.TAGS)],
                order_by=["-last_update"],
                page_size=100,
            ),
            repeats,
        ),
        "status_history": timed(lambda: client.get_status_history(rng.choice(sample)), repeats),
        "as_of": timed(lambda: client.get_by_id(long_task, as_of=middle), max(20, repeats // 10)),
    }
    seconds = time.perf_counter() - start
    check = "ok" if history and created < datetime.now(UTC) else "the long task is missing"
    extra = {name: percentiles(ms) for name, ms in results.items()}
    engine.dispose()
    return RunResult(
        seconds=seconds,
        units=sum(len(v) for v in results.values()),
        peak_rss_mb=peak_rss_mb(),
        check=check,
        extra=extra,
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {"tasks": int((5_000 if quick else 100_000) * scale), "repeats": 200 if quick else 500}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack})
