"""W10: plot payloads (issue 18): reports of plotly figures, and the task reads beside them.

tasktrack: P plotly figures (0.05-1 MB, 0.25 MB on average) reported through `add_events`
(events.add_batch) by a few tasks, five figures (one iteration) per report, each task also
reporting a few scalars; each plot task has two same-shaped twins with the same commands and
scalars: "tiny" reports as many plots of 100 bytes, "plain" none. Timed: the plot reports only
(plots/s, MB/s, p50/p99 per report). Then, in the same run: get_by_id, get_all (page 100),
status history and time travel (`as_of` the middle of the run) on the plot tasks against their
twins (plots/tiny isolates the payloads' size, plots/plain adds their events' count), and
`rebuild` of the tasks projection on that log against the same log without its
TaskEventsStored (payload) events. Raw: COPY of the same figures, five a transaction, into a
plain indexed table with a jsonb column.
Run as a child process: `python -m bench.w10 tasktrack|raw URL PARAMS`.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.harness import RunResult, child_main, peak_rss_mb, percentiles, timed
from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine

COMPANY = "bench"
PER_REPORT = 5  # figures per add_batch: one iteration of a task's five plots
SIZES_KB = (50, 100, 150, 200, 250, 250, 300, 700)  # 250 KB on average
FILLERS = 96  # other tasks in each project, so a page of get_all holds 100 rows
KINDS = ("plots", "tiny", "plain")
TINY = json.dumps({"data": [{"type": "scatter", "y": [1, 2]}], "layout": {}})


def figure(i: int) -> str:
    """Plot number i's plotly JSON, deterministic (the check rebuilds it), about SIZES_KB."""
    rng = random.Random(i)
    points = SIZES_KB[i % len(SIZES_KB)] * 1024 // 22  # "0.123456789012, " twice per point
    x = list(range(points))
    y = [round(rng.random(), 12) for _ in range(points)]
    body = {
        "data": [{"type": "scatter", "mode": "lines", "name": f"series {i}", "x": x, "y": y}],
        "layout": {"title": f"figure {i}", "xaxis": {"title": "step"}},
    }
    return json.dumps(body)


def plots(p: dict[str, Any]) -> Iterator[tuple[int, int, list[tuple[int, str, int, str]]]]:
    """(report number, task, [(plot number, metric, iter, figure)]) of each report, tasks
    taking turns; figures are made one report at a time (never all in memory)."""
    n = 0
    report = 0
    while n < p["plots"]:
        task = report % p["tasks"]
        it = report // p["tasks"]
        batch = []
        for k in range(min(PER_REPORT, p["plots"] - n)):
            batch.append((n, f"plot{k}", it, figure(n)))
            n += 1
        yield report, task, batch
        report += 1


def last_figures(p: dict[str, Any], task: int) -> dict[str, tuple[int, int]]:
    """metric -> (iter, plot number) of the task's last report of each of its plots."""
    out: dict[str, tuple[int, int]] = {}
    n = 0
    report = 0
    while n < p["plots"]:
        count = min(PER_REPORT, p["plots"] - n)
        if report % p["tasks"] == task:
            for k in range(count):
                out[f"plot{k}"] = (report // p["tasks"], n + k)
        n += count
        report += 1
    return out


def _scalars(task: str, it: int) -> list[dict[str, Any]]:
    return [
        {"task": task, "type": "training_stats_scalar", "metric": "loss", "variant": v,
         "value": 1.0 / (it + 1 + s), "iter": it}
        for s, v in enumerate(("train", "val"))
    ]  # fmt: skip


def _setup(client: Client, p: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Per kind (plots; tiny: as many plot reports of 100-byte figures; plain: none) a
    project of `tasks` such tasks and FILLERS others, all started."""
    projects = {kind: str(client.create_project(name=f"w10 {kind}")["id"]) for kind in KINDS}
    tasks: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for i in range(p["tasks"]):
        for kind in KINDS:
            made = client.create(name=f"w10 task {i}", type="training", project=projects[kind])
            tasks[kind].append(str(made["id"]))
    for kind in KINDS:
        for i in range(FILLERS):
            client.create(name=f"w10 other {i}", type="training", project=projects[kind])
    for kind in KINDS:
        for task in tasks[kind]:
            client.started(task=task)
    return tasks, projects


def _compare(t: dict[str, list[float]]) -> dict[str, Any]:
    got = {kind: percentiles(t[kind]) for kind in KINDS}
    p50 = {kind: got[kind]["p50_ms"] for kind in KINDS}
    return {
        **got,
        "plots_to_plain_p50": round(p50["plots"] / p50["plain"], 3),
        "plots_to_tiny_p50": round(p50["plots"] / p50["tiny"], 3),
    }


def _reads(
    client: Client, p: dict[str, Any], tasks: dict[str, list[str]], projects: dict[str, str]
) -> dict[str, Any]:
    """The same reads on the plot tasks and on their twins, interleaved (noise hits both)."""
    repeats = p["repeats"]
    middle: datetime = p["_middle"]
    times: dict[str, dict[str, list[float]]] = {}
    reads = {
        "get_by_id": (lambda k, i: client.get_by_id(tasks[k][i % len(tasks[k])]), repeats),
        "get_all": (
            lambda k, i: client.get_all(
                project=[projects[k]], order_by=["-last_update"], page_size=100
            ),
            repeats,
        ),
        "status_history": (
            lambda k, i: client.get_status_history(tasks[k][i % len(tasks[k])]),
            repeats,
        ),
        "as_of": (
            lambda k, i: client.get_by_id(tasks[k][i % len(tasks[k])], as_of=middle),
            max(20, repeats // 5),
        ),
    }
    for name, (read, n) in reads.items():
        times[name] = {kind: [] for kind in KINDS}
        for i in range(n):
            for kind in KINDS:
                times[name][kind] += timed(lambda r=read, k=kind, j=i: r(k, j), 1)  # type: ignore[misc]
    return {name: _compare(t) for name, t in times.items()}


def _rebuild_tasks(engine: Any, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        rebuild.rebuild(engine, registry.select(["tasks"]))
        seconds.append(time.perf_counter() - start)
    return round(statistics.median(seconds), 4)


def _drop_payload_events(url: str) -> int:
    """The same log without its TaskEventsStored events (the log refuses deletes: the
    benchmark's own database lifts that guard for this one statement)."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        deleted = conn.execute("DELETE FROM events WHERE type = 'TaskEventsStored'").rowcount
        conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
        conn.commit()
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
    return deleted


def _check(client: Client, p: dict[str, Any], tasks: list[str]) -> str:
    """get_task_plots answers each plot's last figure, byte-equal to what was sent."""
    for t in sorted({0, len(tasks) - 1}):
        want = last_figures(p, t)
        got = client.get_task_plots(tasks[t])["plots"]
        if sorted(g["metric"] for g in got) != sorted(want):
            return f"task {t}: plots {[g['metric'] for g in got]}, want {sorted(want)}"
        for g in got:
            it, n = want[g["metric"]]
            if g["iter"] != it or g["plot_str"] != figure(n):
                return f"task {t} {g['metric']}: iter {g['iter']} (want {it}), figure differs"
    return "ok"


def run_tasktrack(url: str, p: dict[str, Any]) -> RunResult:
    engine = make_engine(url, pool_size=2)
    client = Client(engine, Caller(company=COMPANY, user="bench"))
    tasks, projects = _setup(client, p)
    plot_tasks = tasks["plots"]
    gc.collect()
    gc.freeze()  # as `tasktrack serve` does after start-up
    reports = -(-p["plots"] // PER_REPORT)
    report_ms: list[float] = []
    sent = 0
    middle = None
    for report, task, batch in plots(p):
        events = [
            {"task": plot_tasks[task], "type": "plot", "metric": metric, "variant": "v",
             "iter": it, "plot_str": body}
            for _, metric, it, body in batch
        ]  # fmt: skip
        sent += sum(len(body) for *_, body in batch)
        start = time.perf_counter()
        added = client.add_events(events)["added"]
        report_ms.append((time.perf_counter() - start) * 1000)
        if added != len(batch):
            raise SystemExit(f"report {report}: added {added} of {len(batch)}")
        it = batch[0][2]
        tiny = [{**e, "task": tasks["tiny"][task], "plot_str": TINY} for e in events]
        client.add_events(tiny)
        for kind in KINDS:
            client.add_events(_scalars(tasks[kind][task], it))
            client.ping(task=tasks[kind][task])
        if report == reports // 2:
            middle = datetime.now(UTC)
    seconds = sum(report_ms) / 1000
    rss_after_reports = peak_rss_mb()
    for kind in KINDS:
        for task in tasks[kind]:
            client.stopped(task=task)
    check = _check(client, p, plot_tasks)
    reads = _reads(client, {**p, "_middle": middle}, tasks, projects)
    rss_after_reads = peak_rss_mb()
    start = time.perf_counter()
    rebuild.rebuild(engine, list(registry.PROJECTORS))
    rebuild_all_s = round(time.perf_counter() - start, 4)
    with_plots = _rebuild_tasks(engine, p["rebuilds"])
    deleted = _drop_payload_events(url)
    without = _rebuild_tasks(engine, p["rebuilds"])
    differences = rebuild.verify(engine, registry.select(["tasks", "task_status_history"]))
    if check == "ok" and differences:
        check = f"{len(differences)} differences in the task rows without the payload events"
    engine.dispose()
    megabytes = sent / 1e6
    extra = {
        "megabytes": round(megabytes, 1),
        "mb_per_s": round(megabytes / seconds, 1),
        "report": percentiles(report_ms),
        "reads": reads,
        "rebuild_tasks_s": {
            "with_plots": with_plots,
            "without_payloads": without,
            "ratio": round(with_plots / without, 3),
            "payload_events": deleted,
        },
        "rebuild_all_s": rebuild_all_s,
        "peak_rss_mb_after_reports": round(rss_after_reports, 1),
        "peak_rss_mb_after_reads": round(rss_after_reads, 1),
    }
    return RunResult(
        seconds=seconds, units=p["plots"], peak_rss_mb=peak_rss_mb(), check=check, extra=extra
    )


RAW_SCHEMA = """
CREATE TABLE plots (task_id text, metric text, variant text, iter bigint, ts bigint, plot jsonb);
CREATE INDEX plots_key_idx ON plots (task_id, metric, variant, iter);
"""


def run_raw(url: str, p: dict[str, Any]) -> RunResult:
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    sent = 0
    seconds = 0.0
    with psycopg.connect(libpq) as conn:
        conn.execute(RAW_SCHEMA)
        conn.commit()
        for _, task, batch in plots(p):
            now = int(time.time() * 1000)
            sent += sum(len(body) for *_, body in batch)
            start = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY plots FROM STDIN") as copy:
                for _, metric, it, body in batch:
                    copy.write_row((f"task{task}", metric, "v", it, now, body))
            conn.commit()
            seconds += time.perf_counter() - start
        check = "ok"
        for metric, (it, n) in last_figures(p, 0).items():
            row = conn.execute(
                "SELECT plot::text FROM plots WHERE task_id = 'task0' AND metric = %s "
                "ORDER BY iter DESC LIMIT 1",
                (metric,),
            ).fetchone()
            if row is None or json.loads(row[0]) != json.loads(figure(n)):
                check = f"raw: {metric} at {it} differs"
    extra = {"megabytes": round(sent / 1e6, 1), "mb_per_s": round(sent / 1e6 / seconds, 1)}
    return RunResult(
        seconds=seconds, units=p["plots"], peak_rss_mb=peak_rss_mb(), check=check, extra=extra
    )


def params(quick: bool, scale: float = 1.0) -> dict[str, Any]:
    return {
        "plots": int((200 if quick else 2_000) * scale),
        "tasks": 4,
        "repeats": 50 if quick else 200,
        "rebuilds": 1 if quick else 3,
    }


if __name__ == "__main__":
    child_main({"tasktrack": run_tasktrack, "raw": run_raw})
