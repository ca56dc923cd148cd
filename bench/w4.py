"""W4: rebuild every projection from a log made of W1's writes and W3's metric reports.

tasktrack: `rebuild` of all projections (shadow tables, same fold code, swap). Raw: a server-
side cursor scan of the same log with a trivial fold (events and payload bytes per stream),
upserted into a table. The log is written once (prepare) and rebuilt by every run.
Run as a child: `python -m bench.w4 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from bench import w1, w3
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.projections import rebuild, registry
from tasktrack.store.engine import make_engine


def prepare(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    """Write the log once into `url` (W1 then W3 through the service)."""
    w1.run_tasktrack(url, p["w1"])
    w3.run_tasktrack(url, p["w3"])
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return {**p, "events": int(row[0]) if row else 0}


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    start = time.perf_counter()
    rebuild.rebuild(engine, list(registry.PROJECTORS))
    seconds = time.perf_counter() - start
    differences = rebuild.verify(engine, list(registry.PROJECTORS))
    engine.dispose()
    check = "ok" if not differences else f"{len(differences)} differences after rebuild"
    return RunResult(seconds=seconds, units=p["events"], peak_rss_mb=peak_rss_mb(), check=check)


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_fold")
        conn.execute(
            "CREATE TABLE raw_fold (stream_id text PRIMARY KEY, events bigint, bytes bigint)"
        )
        conn.commit()
        start = time.perf_counter()
        count = 0
        folded: dict[str, list[int]] = {}

        def flush() -> None:
            conn.execute(
                "INSERT INTO raw_fold AS f SELECT * FROM unnest(%s::text[], %s::int8[], "
                "%s::int8[]) ON CONFLICT (stream_id) DO UPDATE SET events = f.events + "
                "EXCLUDED.events, bytes = f.bytes + EXCLUDED.bytes",
                (list(folded), [v[0] for v in folded.values()], [v[1] for v in folded.values()]),
            )
            folded.clear()

        with conn.cursor(name="w4_scan") as cur:
            cur.itersize = 2000
            cur.execute("SELECT stream_id, data::text FROM events ORDER BY tx, position")
            for stream_id, data in cur:
                entry = folded.setdefault(stream_id, [0, 0])
                entry[0] += 1
                entry[1] += len(data)
                count += 1
                if count % 2000 == 0:
                    flush()
        if folded:
            flush()
        conn.commit()
        seconds = time.perf_counter() - start
    return RunResult(seconds=seconds, units=count, peak_rss_mb=peak_rss_mb())


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    w1p = w1.params(quick)
    w1p["writes"] = int(w1p["writes"] * scale)
    return {"w1": w1p, "w3": w3.params(quick, scale=scale)}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack, "raw": run_raw})
