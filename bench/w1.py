"""W1 / W1c: single-command writes (status changes, pings, edits), one transaction each.

tasktrack: the service (lock, decide, append, inline projections, commit) through the Python
API. Raw: one INSERT of an event row and a commit per write, into a table keyed by a unique
(stream, version). W1c runs `writers` processes at once, each on its own tasks.
Run as a child: `python -m bench.w1 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from typing import Any

import msgspec
import psycopg

from bench import citus
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

# One cycle per task: enqueue, ping, started, ping, edit, stopped, reset (7 writes).
CYCLE = ["enqueue", "ping", "started", "ping", "edit", "stopped", "reset"]


def plan(p: dict[str, Any], writer: int) -> list[tuple[int, str]]:
    """(task index, command) of one writer, tasks taking turns."""
    tasks = p["tasks"] // p["writers"]
    per_writer = p["writes"] // p["writers"]
    return [(i % tasks, CYCLE[(i // tasks) % len(CYCLE)]) for i in range(per_writer)]


def _tasktrack_writer(url: str, p: dict[str, Any], writer: int, out: Any, go: Any) -> None:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=f"bench{writer}", user="bench"))
    ids = [
        str(client.create(name=f"w1 task {i}", type="training")["id"])
        for i in range(p["tasks"] // p["writers"])
    ]
    steps = plan(p, writer)
    out.put(("ready", writer))
    go.wait()
    start = time.perf_counter()
    for index, command in steps:
        _step(client, command, ids[index], index)
    out.put(("done", time.perf_counter() - start, len(steps), peak_rss_mb()))
    engine.dispose()


def _step(client: Client, command: str, task: str, index: int) -> None:
    if command == "enqueue":
        client.enqueue(task=task, queue_name="w1")
    elif command == "ping":
        client.ping(task=task)
    elif command == "started":
        client.started(task=task)
    elif command == "edit":
        client.edit(task=task, comment=f"note {index}", force=True)
    elif command == "stopped":
        client.stopped(task=task)
    else:
        client.reset(task=task)


_PAYLOAD = json.dumps({"event": "TaskPinged", "at": "2026-01-01T00:00:00Z", "by": "b"})

RAW_SCHEMA = """
CREATE TABLE log (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                  stream_id text NOT NULL, stream_version int NOT NULL, data text NOT NULL,
                  UNIQUE (stream_id, stream_version))
"""


# On a Citus cluster the raw log is sharded by tenant as tasktrack's is (bench/citus.py): keys
# led by `company`, each writer one company.
RAW_SCHEMA_CITUS = """
CREATE TABLE log (company text NOT NULL, position bigint GENERATED ALWAYS AS IDENTITY,
                  stream_id text NOT NULL, stream_version int NOT NULL, data text NOT NULL,
                  PRIMARY KEY (company, position), UNIQUE (company, stream_id, stream_version))
"""


def _raw_writer(url: str, p: dict[str, Any], writer: int, out: Any, go: Any) -> None:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    steps = plan(p, writer)
    with psycopg.connect(libpq) as conn:
        on_citus = citus.is_citus(conn)
        versions = [0] * (p["tasks"] // p["writers"])
        out.put(("ready", writer))
        go.wait()
        start = time.perf_counter()
        for index, _command in steps:
            versions[index] += 1
            _raw_insert(
                conn,
                on_citus=on_citus,
                writer=writer,
                stream=f"w{writer}-t{index}",
                version=versions[index],
            )
            conn.commit()
        out.put(("done", time.perf_counter() - start, len(steps), peak_rss_mb()))


def _raw_insert(
    conn: psycopg.Connection[Any], *, on_citus: bool, writer: int, stream: str, version: int
) -> None:
    """One raw event row (on a cluster with its writer's company, the distribution key)."""
    data = _PAYLOAD
    if on_citus:
        conn.execute(
            "INSERT INTO log (company, stream_id, stream_version, data) VALUES (%s, %s, %s, %s)",
            (f"bench{writer}", stream, version, data),
        )
    else:
        conn.execute(
            "INSERT INTO log (stream_id, stream_version, data) VALUES (%s, %s, %s)",
            (stream, version, data),
        )


def _run(url: str, p: dict[str, Any], target: Any) -> RunResult:
    """Start the writers, release them together once all are ready, time until the last ends."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=target, args=(url, p, w, queue, go)) for w in range(p["writers"])]
    for proc in procs:
        proc.start()
    for _ in procs:
        assert queue.get(timeout=600)[0] == "ready"
    start = time.perf_counter()
    go.set()
    results = [queue.get(timeout=600) for _ in procs]
    seconds = time.perf_counter() - start
    for proc in procs:
        proc.join()
    return RunResult(
        seconds=seconds, units=sum(r[2] for r in results), peak_rss_mb=max(r[3] for r in results)
    )


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    result = _run(url, p, _tasktrack_writer)
    return msgspec.structs.replace(result, check=check_tasktrack(url, p))


# The status each command leads to (pings and edits change none), by SEMANTICS §2.
LEADS_TO = {"enqueue": "queued", "started": "in_progress", "stopped": "stopped", "reset": "created"}


def check_tasktrack(url: str, p: dict[str, Any]) -> str:
    """Every task's status and number of status changes, as the plan says, read back from the
    read models; and each task row at its stream's last version."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        for writer in range(p["writers"]):
            expected: dict[int, tuple[str, int]] = {}
            for index, command in plan(p, writer):
                status, changes = expected.get(index, ("created", 0))
                if command in LEADS_TO:
                    status, changes = LEADS_TO[command], changes + 1
                expected[index] = (status, changes)
            # Three single-tenant statements rather than correlated subqueries, which Citus
            # refuses across tables (the same check on one node and on a cluster).
            company = (f"bench{writer}",)
            changes_of = dict(
                conn.execute(
                    "SELECT task_id, count(*) FROM task_status_history WHERE company = %s "
                    "GROUP BY task_id",
                    company,
                ).fetchall()
            )
            head_of = dict(
                conn.execute(
                    "SELECT stream_id, max(stream_version) FROM events WHERE company = %s "
                    "GROUP BY stream_id",
                    company,
                ).fetchall()
            )
            rows = [
                (name, status, version, changes_of.get(task, 0), head_of.get(task))
                for task, name, status, version in conn.execute(
                    "SELECT id, name, status, stream_version FROM tasks WHERE company = %s",
                    company,
                )
            ]
            got = {int(name.rsplit(" ", 1)[1]): row for name, *row in rows}
            if set(got) != set(range(p["tasks"] // p["writers"])):
                return f"writer {writer}: {len(got)} tasks"
            for index, (status, changes) in expected.items():
                row_status, version, history, last = got[index]
                if (row_status, history, version) != (status, changes, last):
                    return f"writer {writer} task {index}: {got[index]}, want {status}, {changes}"
    return "ok"


def _raw_schema(url: str) -> None:
    with psycopg.connect(citus.libpq(url)) as conn:
        if citus.is_citus(conn):
            conn.execute(RAW_SCHEMA_CITUS)
            citus.distribute_raw(conn, ["log"])
        else:
            conn.execute(RAW_SCHEMA)


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    _raw_schema(url)
    return _run(url, p, _raw_writer)


def probe_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    """Each command of the cycle once on a cluster, counted (tests/citus.py, Probe)."""
    probe = citus.Probe(url)
    client = Client(probe.engine, Caller(company="bench0", user="bench"))
    try:
        made: list[str] = []
        per = {"create": probe.count(lambda: made.append(_create(client)))}
        task = made[0]
        for command in CYCLE:
            per[command] = probe.count(lambda c=command: _step(client, c, task, 0))
    finally:
        probe.close()
    return RunResult(seconds=0, units=0, peak_rss_mb=peak_rss_mb(), extra=per)


def _create(client: Client) -> str:
    return str(client.create(name="w1 probe task", type="training")["id"])


def probe_raw(url: str, p: dict[str, Any]) -> RunResult:
    """The raw write (one INSERT, one commit) once on a cluster, counted."""
    _raw_schema(url)
    probe = citus.Probe(url)

    def write() -> None:
        with probe.connect() as conn:
            _raw_insert(conn, on_citus=True, writer=0, stream="w0-t0", version=1)
            conn.commit()

    try:
        per = {"insert": probe.count(write)}
    finally:
        probe.close()
    return RunResult(seconds=0, units=0, peak_rss_mb=peak_rss_mb(), extra=per)


def params(quick: bool, writers: int = 1) -> dict[str, Any]:
    return {"tasks": 100 if quick else 1000, "writes": 1000 if quick else 20000, "writers": writers}


if __name__ == "__main__":
    child_main(
        {
            "tasktrack": run_tasktrack,
            "raw": run_raw,
            "probe-tasktrack": probe_tasktrack,
            "probe-raw": probe_raw,
        }
    )
