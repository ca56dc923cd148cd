"""W4L: rebuild every projection from a large lifecycle log while 2 writers keep writing.

The log: W2's generator (bench/synthlog.py) at 100,000 tasks whose running tasks ping about 12
times, about 1,000,000 events (quick: 10,000 tasks, about 100,000 events), imported once into
the prepared database and built once. tasktrack: `rebuild` of all projections while writer
processes (bench/writers.py) issue service commands on tasks of their own; reported besides the
rate: each writer command's wait while the rebuild ran (max, p99). Raw: W4's trivial fold
(bench/w4.py) over the same log. Checks: `verify` finds no difference after the rebuild, and
every acknowledged writer command is in the log exactly once.
Run as a child: `python -m bench.w4l tasktrack URL PARAMS`.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench import synthlog, writers
from bench.harness import RunResult, child_main, peak_rss_mb, percentiles
from tasktrack.projections import rebuild, registry
from tasktrack.store import archive, archive_files
from tasktrack.store.engine import make_engine, raw

PINGS = 12  # a running task's pings, on average: about 10 events per task


def export(p: dict[str, Any], workdir: Path) -> Path:
    """The synthetic export of the log (written once per size, shared by W4L and W7)."""
    path = workdir / f"lifecycle-{p['tasks']}.jsonl"
    if not path.exists():
        synthlog.generate(path, p["tasks"], seed=4, pings=PINGS)
    return path


def load(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    """Import the export into `url` (unsigned: made here), vacuumed; count its events."""
    engine = make_engine(url, pool_size=2)
    with engine.connect() as conn:
        archive.import_events(
            raw(conn),
            archive_files.read_archive(export(p, workdir)),
            origin=archive.Origin(unsigned=True),
        )
    engine.dispose()
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return {**p, "events": int(row[0]) if row else 0}


def prepare(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    """The log, and its read models built once (as a live system's are before a rebuild)."""
    p = load(p, workdir, url)
    engine = make_engine(url, pool_size=2)
    rebuild.rebuild(engine, list(registry.PROJECTORS))
    engine.dispose()
    return p


def count_events(url: str) -> int:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    specs = list(registry.PROJECTORS)
    before = count_events(url)
    tag = uuid.uuid4().hex[:8]
    with writers.running(url, tag, p["writers"]) as reports:
        time.sleep(0.2)  # the writers past their first commands
        began, start = time.monotonic(), time.perf_counter()
        rebuild.rebuild(engine, specs)
        seconds = time.perf_counter() - start
        ended = time.monotonic()
    differences = rebuild.verify(engine, specs)
    engine.dispose()
    # The commands that were waiting at any time while the rebuild ran.
    waits = sorted(
        s * 1000
        for r in reports
        for t, s in zip(r.starts, r.seconds, strict=True)
        if t < ended and t + s > began
    )
    checks = [writers.check(url, r) for r in reports]
    failed = [c for c in checks if c != "ok"]
    if differences:
        failed.insert(0, f"{len(differences)} differences after rebuild: {differences[:3]}")
    if not waits:
        failed.append("no writer command ran during the rebuild")
    extra: dict[str, Any] = {
        "events_at_start": before,
        "writer_commands": len(waits),
        "writer_events": writers.events_of(url, reports),
    }
    if waits:
        lat = percentiles(waits)
        extra.update(
            writer_max_ms=round(waits[-1], 1),
            writer_p99_ms=round(lat["p99_ms"], 1),
            writer_p50_ms=round(lat["p50_ms"], 1),
        )
    return RunResult(
        seconds=seconds,
        units=before,
        peak_rss_mb=peak_rss_mb(),
        check="; ".join(failed) or "ok",
        extra=extra,
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {"tasks": int((10_000 if quick else 100_000) * scale), "writers": 2}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack})
