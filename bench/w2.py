"""W2: import an export of N events into an empty database, then build every projection.

tasktrack: `archive.import_events` (hashes checked, COPY) then `rebuild` of all projections.
Raw: COPY of the same rows into an indexed table. The export is synthetic (bench/synthlog.py).
Run as a child: `python -m bench.w2 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from bench import synthlog
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.projections import rebuild, registry
from tasktrack.store import archive, archive_files
from tasktrack.store.engine import make_engine, raw


def prepare(p: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path = workdir / f"w2-{p['tasks']}.jsonl"
    if not path.exists():
        synthlog.generate(path, p["tasks"], seed=2)
    with path.open("rb") as f:
        events = sum(1 for _ in f)
    return {**p, "export": str(path), "events": events}


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    start = time.perf_counter()
    with engine.connect() as conn:
        count = archive.import_events(
            raw(conn),
            archive_files.read_archive(Path(p["export"])),
            origin=archive.Origin(unsigned=True),  # made here, by the benchmark itself
        ).events
    rebuild.rebuild(engine, list(registry.PROJECTORS))
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        tasks = raw(conn).execute("SELECT count(*) FROM tasks").fetchone()
    engine.dispose()
    check = "ok" if tasks and tasks[0] == p["tasks"] else f"{tasks} tasks, want {p['tasks']}"
    return RunResult(seconds=seconds, units=count, peak_rss_mb=peak_rss_mb(), check=check)


RAW_SCHEMA = """
CREATE TABLE log (position bigint PRIMARY KEY, stream_id text NOT NULL,
                  stream_version int NOT NULL, company text NOT NULL, type text NOT NULL,
                  data text NOT NULL, metadata text NOT NULL, recorded_at timestamptz NOT NULL,
                  hash bytea NOT NULL, UNIQUE (stream_id, stream_version))
"""


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        conn.execute(RAW_SCHEMA)
        conn.commit()
        start = time.perf_counter()
        count = 0
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY log (position, stream_id, stream_version, company, type, data, metadata, "
                "recorded_at, hash) FROM STDIN"
            ) as copy,
        ):
            for e in archive_files.read_archive(Path(p["export"])):
                copy.write_row(
                    (
                        e.position,
                        e.stream_id,
                        e.stream_version,
                        e.company,
                        e.type,
                        bytes(e.data).decode(),
                        bytes(e.metadata).decode(),
                        e.recorded_at,
                        bytes.fromhex(e.hash),
                    )
                )
                count += 1
        conn.commit()
        seconds = time.perf_counter() - start
    return RunResult(seconds=seconds, units=count, peak_rss_mb=peak_rss_mb())


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    # About 3.0 events per task (measured: 29,000 tasks made 86,986): N = 100,000 events.
    return {"tasks": int((3_340 if quick else 33_400) * scale)}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack, "raw": run_raw})
