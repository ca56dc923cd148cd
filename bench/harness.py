"""Running a workload: a fresh database per run, each run in its own process, median/min/max."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from sqlalchemy.engine import make_url

from bench import citus
from tasktrack.store import migrate
from tasktrack.store.engine import make_engine
from tests import pgserver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RunResult(msgspec.Struct, kw_only=True):
    """What one run of one implementation reports (printed as JSON by the child process)."""

    seconds: float
    units: int
    peak_rss_mb: float
    check: str = "ok"
    extra: dict[str, Any] = {}
    # On a Citus cluster, the two-phase commits' PREPARE TRANSACTIONs of the whole run (its
    # setup and check included), filled in by the harness from the cluster's counter.
    prepared: int | None = None


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls of `fn` (latency workloads: W5, W9)."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


def peak_rss_mb() -> float:
    """This process's peak resident size, in MB.

    On Linux, VmHWM of /proc/self/status: the high-water mark of this process's own memory.
    Not getrusage's ru_maxrss, which Linux carries across fork and exec: a benchmark child
    would report its parent's size at the fork (the harness's, holding generated logs) as its
    own, whatever the child did.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    # ru_maxrss is in kilobytes on Linux, in bytes on macOS (no /proc there).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


@contextmanager
def server() -> Iterator[str]:
    """The server benchmarks run on: TASKTRACK_BENCH_DATABASE_URL, else the tests' chain."""
    url = os.environ.get("TASKTRACK_BENCH_DATABASE_URL")
    if url:
        try:
            yield url
        finally:
            drop_templates()
        return
    with pgserver.server_url() as (found, _origin):
        try:
            yield found
        finally:
            drop_templates()


# The migrated template of this session, by server (migrating takes a second; cloning a
# template is a file copy).
_templates: dict[str, str] = {}


def fresh_database(server_url: str, *, migrated: bool) -> str:
    if citus.is_cluster(server_url):
        return citus.fresh_database(server_url, migrated=migrated)
    if not migrated:
        return pgserver.create_database(server_url, prefix="tt_bench")
    if server_url not in _templates:
        url = pgserver.create_database(server_url, prefix="tt_bench_template")
        engine = make_engine(url, pool_size=1)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        _templates[server_url] = url
    template = make_url(_templates[server_url]).database
    assert template is not None
    return pgserver.create_database(server_url, prefix="tt_bench", template=template)


def drop_database(server_url: str, url: str) -> None:
    if citus.is_cluster(server_url):
        citus.drop_database(server_url, url)
    else:
        pgserver.drop_database(server_url, url)


def drop_templates() -> None:
    for server_url, url in list(_templates.items()):
        pgserver.drop_database(server_url, url)
        del _templates[server_url]


def run_child(module: str, impl: str, url: str, params: dict[str, Any]) -> RunResult:
    """Run one measured run in a fresh process (so its peak memory is its own)."""
    cmd = [sys.executable, "-m", module, impl, url, json.dumps(params)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{module} {impl} failed:\n{done.stdout}\n{done.stderr}")
    return msgspec.json.decode(done.stdout.strip().splitlines()[-1], type=RunResult)


def child_main(impls: dict[str, Callable[[str, dict[str, Any]], RunResult]]) -> None:
    """The entry of a workload module run as a child: `python -m bench.wN IMPL URL PARAMS`."""
    impl, url, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    result = impls[impl](url, params)
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")


def postgres_version(url: str) -> str:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def git_revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def summary(runs: list[RunResult]) -> dict[str, Any]:
    seconds = [r.seconds for r in runs]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "rate": round(runs[0].units / statistics.median(seconds), 1),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
        "runs": [round(s, 4) for s in seconds],
    }


def load_average() -> float:
    """The machine's load average over the last minute (the benchmarks share it)."""
    return round(os.getloadavg()[0], 1)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
