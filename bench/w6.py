"""W6 / W3h: HTTP through `tasktrack serve`.

W6: command round trips (tasks.ping, tasks.started/stopped) from 8 concurrent clients; reports
requests/s and latency percentiles. W3h: W3's points through events.add_batch (JSON lines of
500 points) from 4 concurrent clients; compared with W3's raw rate.
Run as a child: `python -m bench.w6 ping|w3h URL PARAMS`.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import psycopg

from bench import w3
from bench.harness import RunResult, child_main, peak_rss_mb, percentiles
from tasktrack.store import credentials
from tasktrack.store.engine import make_engine
from tests.e2e.http import basic, serving

SCALAR = "training_stats_scalar"


def _credential(url: str, company: str) -> str:
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        cred = credentials.create(conn, company, "bench")
    engine.dispose()
    return basic(cred.access_key, cred.secret_key)


def _post(http: httpx.Client, endpoint: str, body: Any) -> Any:
    content = body if isinstance(body, str) else json.dumps(body)
    response = http.post(f"/{endpoint}", content=content)
    envelope = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"{endpoint}: {envelope['meta']['result_msg']}")
    return envelope["data"]


def run_ping(url: str, p: dict[str, Any]) -> RunResult:
    auth = _credential(url, "w6")
    with serving({"TASKTRACK_DATABASE_URL": url}, workers=p["server_workers"]) as base:
        clients = [
            httpx.Client(base_url=base, headers={"Authorization": auth}, timeout=60)
            for _ in range(p["clients"])
        ]
        tasks = [
            _post(clients[0], "tasks.create", {"name": f"w6 task {i}", "type": "training"})["id"]
            for i in range(p["clients"])
        ]
        latencies: list[list[float]] = [[] for _ in clients]
        barrier = threading.Barrier(p["clients"] + 1)

        def client(i: int) -> None:
            http, task = clients[i], tasks[i]
            barrier.wait()
            for n in range(p["requests"]):
                endpoint = ("tasks.ping", "tasks.started", "tasks.ping", "tasks.stopped")[n % 4]
                start = time.perf_counter()
                _post(
                    http,
                    endpoint,
                    {"task": task, "force": True} if endpoint != "tasks.ping" else {"task": task},
                )
                latencies[i].append((time.perf_counter() - start) * 1000)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(p["clients"])]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        for http in clients:
            http.close()
    everything = [ms for per_client in latencies for ms in per_client]
    return RunResult(
        seconds=seconds,
        units=len(everything),
        peak_rss_mb=peak_rss_mb(),
        extra=percentiles(everything),
        check=_check_ping(url, tasks, p["requests"]),
    )


def _check_ping(url: str, tasks: list[str], requests: int) -> str:
    """Each task took requests/4 starts and as many stops, pings changing nothing: its last
    status and its count of status changes, read back from the read models."""
    calls = [
        ("tasks.ping", "tasks.started", "tasks.ping", "tasks.stopped")[n % 4]
        for n in range(requests)
    ]
    changes = sum(c != "tasks.ping" for c in calls)
    last = next((c for c in reversed(calls) if c != "tasks.ping"), None)
    status = {"tasks.started": "in_progress", "tasks.stopped": "stopped", None: "created"}[last]
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        for task in tasks:
            row = conn.execute(
                "SELECT status, (SELECT count(*) FROM task_status_history WHERE task_id = %s) "
                "FROM tasks WHERE id = %s",
                (task, task),
            ).fetchone()
            if row is None or tuple(row) != (status, changes):
                return f"task {task}: {row}, want ({status!r}, {changes})"
    return "ok"


def run_w3h(url: str, p: dict[str, Any]) -> RunResult:
    auth = _credential(url, "w3h")
    with serving({"TASKTRACK_DATABASE_URL": url}, workers=p["server_workers"]) as base:
        http = httpx.Client(base_url=base, headers={"Authorization": auth}, timeout=120)
        ids = [
            _post(http, "tasks.create", {"name": f"w3h task {i}", "type": "training"})["id"]
            for i in range(p["tasks"])
        ]
        for task in ids:
            _post(http, "tasks.started", {"task": task})
        http.close()
        batches = list(w3.batches(p))
        lock = threading.Lock()
        added = [0]
        barrier = threading.Barrier(p["clients"] + 1)

        def client(i: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": auth}, timeout=120) as c:
                barrier.wait()
                for batch in batches[i :: p["clients"]]:
                    lines = []
                    for task, s, it in batch:
                        metric, variant = w3.names(s)
                        lines.append(
                            json.dumps(
                                {
                                    "task": ids[task],
                                    "type": SCALAR,
                                    "metric": metric,
                                    "variant": variant,
                                    "iter": it,
                                    "value": w3.value(task, s, it),
                                }
                            )
                        )
                    data = _post(c, "events.add_batch", "\n".join(lines))
                    with lock:
                        added[0] += data["added"]

        threads = [threading.Thread(target=client, args=(i,)) for i in range(p["clients"])]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    return RunResult(
        seconds=seconds, units=added[0], peak_rss_mb=peak_rss_mb(), check=_check_w3h(url, p, ids)
    )


def _check_w3h(url: str, p: dict[str, Any], ids: list[str]) -> str:
    """min, max and count of sampled series against W3's independent computation. (Not the
    last value: four clients send a task's reports in whatever order they get to them.)"""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        for task, s in w3.sample(p):
            metric, variant = w3.names(s)
            row = conn.execute(
                "SELECT min_value, max_value, count FROM task_metrics "
                "WHERE task_id = %s AND metric = %s AND variant = %s",
                (ids[task], metric, variant),
            ).fetchone()
            lo, hi, _last = w3.expected(p, task, s)
            if row is None or tuple(row) != (lo, hi, p["iters"]):
                return f"series {(task, s)}: {row}, want {(lo, hi, p['iters'])}"
    return "ok"


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {"clients": 8, "requests": int((100 if quick else 1000) * scale), "server_workers": 2}


def params_w3h(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {**w3.params(quick, scale), "clients": 4, "server_workers": 2}


if __name__ == "__main__":
    child_main({"ping": run_ping, "w3h": run_w3h})
