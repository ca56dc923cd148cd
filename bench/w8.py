"""W8: 8 concurrent agents drain a queue of 10,000 tasks, each task handed out exactly once.

tasktrack: the queues service through the Python API; each agent (a process) loops
`queues.get_next_task`, then `tasks.started` and `tasks.completed` of the task it got, until the
queue answers nothing. Raw: the classic PostgreSQL queue, a plain table drained with
`SELECT … FOR UPDATE SKIP LOCKED LIMIT 1` + `DELETE` in one transaction, then the same two
status changes as single-row UPDATEs of a plain status table, one commit each (the agent's
three calls). Setup (tasks created and enqueued, rows inserted) is not timed; the clock runs
from releasing the agents together to the last one finding the queue empty.
The check, both sides: every task handed out to exactly one agent (the agents' lists), every
task completed; for tasktrack also one TaskHandedOut from the queue per task (on the tasks'
streams) and an empty line.
Run as a child: `python -m bench.w8 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from bench.harness import RunResult, child_main, peak_rss_mb, percentiles
from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

COMPANY = "bench"
QUEUE = "w8 agents"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _tasktrack_agent(url: str, p: dict[str, Any], agent: int, out: Any, go: Any) -> None:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=COMPANY, user=f"agent{agent}"))
    queue = p["queue_id"]
    taken: list[str] = []
    ms: dict[str, list[float]] = {"get_next_task": [], "started": [], "completed": []}
    out.put(("ready", agent))
    go.wait()
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        got = client.get_next_task(queue=queue)
        t1 = time.perf_counter()
        if not got:
            break
        task = str(got["entry"]["task"])
        client.started(task=task)
        t2 = time.perf_counter()
        client.completed(task=task)
        t3 = time.perf_counter()
        for name, took in zip(ms, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            ms[name].append(took * 1000)
        taken.append(task)
    out.put(("done", time.perf_counter() - start, taken, peak_rss_mb(), ms))
    engine.dispose()


def _raw_agent(url: str, p: dict[str, Any], agent: int, out: Any, go: Any) -> None:
    taken: list[str] = []
    with psycopg.connect(_libpq(url)) as conn:
        out.put(("ready", agent))
        go.wait()
        ms: dict[str, list[float]] = {"handout": [], "started": [], "completed": []}
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            # The handout: the first row nobody else holds, locked and deleted in one
            # transaction (a crash before COMMIT leaves it in the queue).
            with conn.transaction():
                row = conn.execute(
                    "SELECT id, task FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
                ).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM jobs WHERE id = %s", (row[0],))
            if row is None:
                break
            task = str(row[1])
            t1 = time.perf_counter()
            conn.execute(
                "UPDATE job_status SET status = 'in_progress', agent = %s WHERE task = %s",
                (agent, task),
            )
            conn.commit()
            t2 = time.perf_counter()
            conn.execute("UPDATE job_status SET status = 'completed' WHERE task = %s", (task,))
            conn.commit()
            t3 = time.perf_counter()
            for name, took in zip(ms, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                ms[name].append(took * 1000)
            taken.append(task)
        out.put(("done", time.perf_counter() - start, taken, peak_rss_mb(), ms))


def _drain(url: str, p: dict[str, Any], target: Callable[..., None]) -> tuple[float, list[Any]]:
    """Start the agents, release them together once all are ready, time until the last ends."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=target, args=(url, p, a, out, go)) for a in range(p["agents"])]
    for proc in procs:
        proc.start()
    for _ in procs:
        assert out.get(timeout=600)[0] == "ready"
    start = time.perf_counter()
    go.set()
    results = [out.get(timeout=1800) for _ in procs]
    seconds = time.perf_counter() - start
    for proc in procs:
        proc.join()
    return seconds, results


def _exactly_once(tasks: list[str], results: list[Any]) -> str:
    handed = Counter(task for r in results for task in r[2])
    twice = [t for t, n in handed.items() if n > 1]
    if twice:
        return f"{len(twice)} tasks handed out more than once, e.g. {twice[0]}"
    if set(handed) != set(tasks):
        return f"{len(set(tasks) - set(handed))} tasks never handed out"
    return "ok"


def _latencies(results: list[Any]) -> dict[str, dict[str, float]]:
    """p50/p99 (ms) of each call of the agents' loop, over every agent."""
    calls: dict[str, list[float]] = {}
    for r in results:
        for name, ms in r[4].items():
            calls.setdefault(name, []).extend(ms)
    return {name: percentiles(ms) for name, ms in calls.items() if ms}


def _setup_tasktrack(url: str, p: dict[str, Any]) -> tuple[str, list[str]]:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=COMPANY, user="bench"))
    queue = str(client.create_queue(name=QUEUE)["id"])
    tasks = []
    for i in range(p["tasks"]):
        task = str(client.create(name=f"w8 task {i}", type="training")["id"])
        client.enqueue(task=task, queue=queue)
        tasks.append(task)
    engine.dispose()
    return queue, tasks


def _check_tasktrack(url: str, queue: str, tasks: list[str]) -> str:
    """From the read models and the log: every task completed, the line empty, and one
    handout event from the queue per task."""
    with psycopg.connect(_libpq(url)) as conn:
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM tasks WHERE company = %s GROUP BY status",
                (COMPANY,),
            ).fetchall()
        )
        if statuses != {"completed": len(tasks)}:
            return f"statuses {statuses}, want all {len(tasks)} completed"
        waiting = conn.execute(
            "SELECT count(*) FROM queue_entries WHERE queue_id = %s", (queue,)
        ).fetchone()
        if waiting is None or waiting[0] != 0:
            return f"{waiting} tasks still in the queue's line"
        handouts = conn.execute(
            "SELECT count(*), count(DISTINCT stream_id) FROM events "
            "WHERE company = %s AND type = 'TaskHandedOut' AND data->>'queue' = %s",
            (COMPANY, queue),
        ).fetchone()
        if handouts != (len(tasks), len(tasks)):
            return f"handout events (all, distinct tasks) {handouts}, want {len(tasks)} of each"
    return "ok"


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    queue, tasks = _setup_tasktrack(url, p)
    seconds, results = _drain(url, {**p, "queue_id": queue}, _tasktrack_agent)
    check = _exactly_once(tasks, results)
    if check == "ok":
        check = _check_tasktrack(url, queue, tasks)
    per_agent = sorted(len(r[2]) for r in results)
    return RunResult(
        seconds=seconds,
        units=len(tasks),
        peak_rss_mb=max(r[3] for r in results),
        check=check,
        extra={"tasks_per_agent": per_agent, "calls": _latencies(results)},
    )


RAW_SCHEMA = """
CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, task text NOT NULL);
CREATE TABLE job_status (task text PRIMARY KEY, status text NOT NULL, agent int);
"""


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    tasks = [f"task-{i:06d}" for i in range(p["tasks"])]
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute(RAW_SCHEMA)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO jobs (task) VALUES (%s)", [(t,) for t in tasks])
            cur.executemany(
                "INSERT INTO job_status (task, status) VALUES (%s, 'queued')", [(t,) for t in tasks]
            )
        conn.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE jobs, job_status")
    seconds, results = _drain(url, p, _raw_agent)
    check = _exactly_once(tasks, results)
    with psycopg.connect(_libpq(url)) as conn:
        left = conn.execute("SELECT count(*) FROM jobs").fetchone()
        done = conn.execute("SELECT count(*) FROM job_status WHERE status = 'completed'").fetchone()
    if check == "ok" and (left != (0,) or done != (len(tasks),)):
        check = f"raw: {left} rows left, {done} completed"
    per_agent = sorted(len(r[2]) for r in results)
    return RunResult(
        seconds=seconds,
        units=len(tasks),
        peak_rss_mb=max(r[3] for r in results),
        check=check,
        extra={"tasks_per_agent": per_agent, "calls": _latencies(results)},
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {"tasks": int((1_000 if quick else 10_000) * scale), "agents": 8}


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack, "raw": run_raw})
