"""Background writers (W4L): processes issuing service commands on their own tasks until stopped.

Each writer acts as a company of its own (so its tasks are not the log's), creates a few tasks,
then cycles them through W1's commands (and creates another task every CREATE_EVERY commands)
until told to stop, timing every command. Every command carries a request id, so the check can
find each acknowledged command in the log and prove it landed exactly once.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg

from bench.w1 import CYCLE
from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

FIRST_TASKS = 4
CREATE_EVERY = 50


class Report(msgspec.Struct, kw_only=True):
    """What one writer did: when each command started (time.monotonic, shared by processes
    on one machine) and how long it took, and the stream of each acknowledged request id."""

    company: str
    starts: list[float]
    seconds: list[float]
    acked: dict[str, str]
    error: str | None = None


def company(tag: str, writer: int) -> str:
    return f"w4l-{tag}-{writer}"


def _write(url: str, name: str, out: Any, go: Any, stop: Any) -> None:
    """One writer, as company `name` (also its request ids' prefix)."""
    engine = make_engine(url, pool_size=2)
    report = Report(company=name, starts=[], seconds=[], acked={})
    client = Client(engine, Caller(company=report.company, user="writer"))
    tasks: list[str] = []
    steps: list[int] = []  # each task's place in CYCLE
    seq = 0

    def create(rid: str) -> None:
        result = client.create(name=f"w4l {len(tasks)}", type="training", request_id=rid)
        tasks.append(str(result["id"]))
        steps.append(0)
        report.acked[rid] = tasks[-1]

    ready = False
    try:
        for _ in range(FIRST_TASKS):
            seq += 1
            create(f"{name}-{seq}")
        out.put(("ready", name))
        ready = True
        go.wait()
        while not stop.is_set():
            seq += 1
            rid = f"{name}-{seq}"
            start = time.monotonic()
            if seq % CREATE_EVERY == 0:
                create(rid)
            else:
                i = seq % len(tasks)
                _issue(client, CYCLE[steps[i]], tasks[i], rid)
                steps[i] = (steps[i] + 1) % len(CYCLE)
                report.acked[rid] = tasks[i]
            report.starts.append(start)
            report.seconds.append(time.monotonic() - start)
    except Exception as exc:  # reported, and the run fails its check
        report.error = f"{type(exc).__name__}: {exc}"
        if not ready:
            out.put(("ready", name))
    out.put(("done", msgspec.json.encode(report)))
    engine.dispose()


def _issue(client: Client, command: str, task: str, rid: str) -> None:
    if command == "enqueue":
        client.enqueue(task=task, queue_name="w4l", request_id=rid)
    elif command == "ping":
        client.ping(task=task, request_id=rid)
    elif command == "started":
        client.started(task=task, request_id=rid)
    elif command == "edit":
        client.edit(task=task, comment=f"note {rid}", force=True, request_id=rid)
    elif command == "stopped":
        client.stopped(task=task, request_id=rid)
    else:
        client.reset(task=task, request_id=rid)


@contextmanager
def running(url: str, tag: str, writers: int) -> Iterator[list[Report]]:
    """Start `writers` writers, wait until all are ready, release them, and stop them when the
    block ends; the yielded list then holds their reports."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    procs = [
        ctx.Process(target=_write, args=(url, company(tag, w), out, go, stop))
        for w in range(writers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        _receive(out, procs, "ready")
    go.set()
    reports: list[Report] = []
    try:
        yield reports
    finally:
        stop.set()
        for _ in procs:
            reports.append(msgspec.json.decode(_receive(out, procs, "done")[1], type=Report))
        for proc in procs:
            proc.join()


def _receive(out: Any, procs: list[Any], kind: str) -> tuple[Any, ...]:
    """The next message of `kind` from the writers; a writer that died is an error, not a hang."""
    while True:
        try:
            message: tuple[Any, ...] = out.get(timeout=1)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a writer process died (exit codes {dead})") from None
            continue
        if message[0] == kind:
            return message


def check(url: str, report: Report) -> str:
    """Every acknowledged command in the log exactly once: each request id in one transaction,
    on its stream, and the writer's streams hold no other events and no gaps."""
    if report.error:
        return f"{report.company}: a command failed: {report.error}"
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    streams = sorted(set(report.acked.values()))
    with psycopg.connect(libpq) as conn:
        rows = conn.execute(
            "SELECT stream_id, metadata->>'request_id', count(DISTINCT tx) "
            "FROM events WHERE stream_id = ANY(%s) GROUP BY 1, 2",
            (streams,),
        ).fetchall()
        heads = conn.execute(
            "SELECT stream_id, count(*), max(stream_version) FROM events "
            "WHERE stream_id = ANY(%s) GROUP BY 1",
            (streams,),
        ).fetchall()
    found = {rid: (stream, txs) for stream, rid, txs in rows}
    missing = [rid for rid in report.acked if rid not in found]
    doubled = [rid for rid, (_, txs) in found.items() if txs != 1]
    foreign = [rid for rid in found if report.acked.get(rid) != found[rid][0]]
    gaps = [s for s, count, last in heads if count != last]
    if missing or doubled or foreign or gaps or len(heads) != len(streams):
        return (
            f"{report.company}: {len(report.acked)} commands acknowledged; not in the log: "
            f"{missing[:5]}, in more than one transaction: {doubled[:5]}, not acknowledged "
            f"(or on another stream): {foreign[:5]}, streams with gaps: {gaps[:5]}, "
            f"{len(heads)} of {len(streams)} streams found"
        )
    return "ok"


def events_of(url: str, reports: list[Report]) -> int:
    """How many events the writers' streams hold."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    streams = sorted({s for r in reports for s in r.acked.values()})
    with psycopg.connect(libpq) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE stream_id = ANY(%s)", (streams,)
        ).fetchone()
    return int(row[0]) if row else 0
