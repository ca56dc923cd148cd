"""W7: a catch-up projector added to an existing log, from its first event to caught up.

The log is W4L's (about 1,000,000 events; quick: 100,000), imported once (prepare). A projector
"added by a later release" is played by `activity_daily` (registry mode "catch_up"): each run
deletes its checkpoint and empties its tables, then times `runner.catch_up` until the
checkpoint is the log's last event. Raw: W4's trivial fold (bench/w4.py) over the same log.
Check: every event applied once, and `verify` of the projector finds no difference.
Run as a child: `python -m bench.w7 tasktrack URL PARAMS`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import w4l
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.domain.records import Checkpoint
from tasktrack.projections import rebuild, registry, runner
from tasktrack.projections.registry import ProjectorSpec
from tasktrack.store.engine import make_engine, raw

PROJECTOR = "activity_daily"
# catch_up reads only what every open transaction on the server is past: one open elsewhere
# (another database's, say) can make it return early; it is called again until caught up.
PATIENCE_S = 60.0


def prepare(p: dict[str, Any], workdir: Path, url: str) -> dict[str, Any]:
    """The log alone: the projector under test builds its own tables from it."""
    return w4l.load(p, workdir, url)


def _reset(engine: Engine, spec: ProjectorSpec) -> Checkpoint:
    """Forget the projector (no checkpoint, empty tables); return the log's last place."""
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        conn.execute("DELETE FROM projector_checkpoints WHERE name = %s", (spec.name,))
        conn.execute(f"TRUNCATE {', '.join(spec.tables)}")
        row = conn.execute(
            "SELECT tx::text, position FROM events ORDER BY tx DESC, position DESC LIMIT 1"
        ).fetchone()
        conn.commit()
    assert row is not None, "an empty log"
    return Checkpoint(int(row[0]), int(row[1]))


def _checkpoint(engine: Engine, spec: ProjectorSpec) -> Checkpoint:
    with engine.connect() as sa_conn:
        cp = runner.read_checkpoint(raw(sa_conn), spec.name)
        sa_conn.rollback()
    return cp


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    spec = registry.BY_NAME[PROJECTOR]
    assert spec.mode == "catch_up"
    last = _reset(engine, spec)
    start = time.perf_counter()
    applied = runner.catch_up(engine, spec)
    deadline = time.perf_counter() + PATIENCE_S
    while _checkpoint(engine, spec) < last and time.perf_counter() < deadline:
        time.sleep(0.05)
        applied += runner.catch_up(engine, spec)
    seconds = time.perf_counter() - start
    differences = rebuild.verify(engine, [spec])
    engine.dispose()
    failed = []
    if applied != p["events"]:
        failed.append(f"{applied} events applied, the log holds {p['events']}")
    if differences:
        failed.append(f"{len(differences)} differences after catch-up: {differences[:3]}")
    return RunResult(
        seconds=seconds,
        units=applied,
        peak_rss_mb=peak_rss_mb(),
        check="; ".join(failed) or "ok",
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {"tasks": int((10_000 if quick else 100_000) * scale)}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack})
