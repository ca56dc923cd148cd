"""`python -m bench [--quick] [--only W1,W3] [--runs N] [--citus-url URL]`: BENCH.md's workloads,
with baselines.

Each workload runs tasktrack and its raw-PostgreSQL baseline in the same session on the same
server, every run in a fresh process (its peak memory is its own) after one warm-up run; a
workload that writes gets a fresh database per run, one that reads or rebuilds a prepared one.
The figure that counts is the ratio of the medians. One JSON object per workload goes to stdout,
a table to stderr. With `--citus-url` (a Citus coordinator's maintenance database, workers
added) the workloads that support it (W1c, W3) run on single-node PostgreSQL and then on the
cluster, tasktrack `db distribute`d and the raw baseline's tables sharded by tenant the same way:
the two-phase commits of each timed run are counted from the cluster's own counter, and a probe
run after them logs the statements each command sends to the workers (bench/citus.py).
W8 also measures its bound (bench/w8_bound.py): tasktrack's schema written by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from bench import citus, harness, w1, w2, w3, w4, w4l, w5, w6, w7, w8, w9, w10


class Workload(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    module: str
    unit: str
    params: Callable[..., dict[str, Any]]
    n: Callable[[dict[str, Any]], int]
    ours: str = "tasktrack"
    raw: tuple[str, str] | None = None  # (module, impl) of the baseline
    raw_params: Callable[..., dict[str, Any]] | None = None
    # (module, impl) of a diagnostic run on tasktrack's own schema written by hand in the
    # fewest statements (W8): what any rewrite of tasktrack's write path could reach.
    bound: tuple[str, str] | None = None
    prepare: Callable[..., dict[str, Any]] | None = None  # once, into a shared database
    prepare_file: Callable[..., dict[str, Any]] | None = None  # once, files only
    latency: bool = False
    memory_check: bool = False
    worst: tuple[str, ...] = ()  # keys of the runs' extra whose worst (max) is reported
    # With --citus-url: the parameters of both places' runs (tenants spread over the workers);
    # None: the workload does not run on a cluster.
    citus_params: Callable[..., dict[str, Any]] | None = None


WORKLOADS = [
    Workload(
        id="W1",
        module="bench.w1",
        unit="writes/s",
        params=w1.params,
        n=lambda p: p["writes"],
        raw=("bench.w1", "raw"),
    ),
    Workload(
        id="W1c",
        module="bench.w1",
        unit="writes/s",
        params=lambda quick, scale=1.0: w1.params(quick, writers=4),
        n=lambda p: p["writes"],
        raw=("bench.w1", "raw"),
        # Four writers, four companies (bench0-3): two on each worker of the test cluster.
        citus_params=lambda quick, scale=1.0: w1.params(quick, writers=4),
    ),
    Workload(
        id="W2",
        module="bench.w2",
        unit="events/s",
        params=w2.params,
        n=lambda p: p["events"],
        raw=("bench.w2", "raw"),
        prepare_file=w2.prepare,
    ),
    Workload(
        id="W3",
        module="bench.w3",
        unit="points/s",
        params=w3.params,
        n=lambda p: p["tasks"] * p["series"] * p["iters"],
        raw=("bench.w3", "raw"),
        memory_check=True,
        # The tasks dealt round four companies (bench0-3), two on each worker.
        citus_params=lambda quick, scale=1.0: {**w3.params(quick, scale), "tenants": 4},
    ),
    Workload(
        id="W3h",
        module="bench.w6",
        ours="w3h",
        unit="points/s",
        params=w6.params_w3h,
        n=lambda p: p["tasks"] * p["series"] * p["iters"],
        raw=("bench.w3", "raw"),
        raw_params=w3.params,
    ),
    Workload(
        id="W4",
        module="bench.w4",
        unit="events/s",
        params=w4.params,
        n=lambda p: p["events"],
        raw=("bench.w4", "raw"),
        prepare=w4.prepare,
        memory_check=True,
    ),
    Workload(
        id="W4L",
        module="bench.w4l",
        unit="events/s",
        params=w4l.params,
        n=lambda p: p["events"],
        raw=("bench.w4", "raw"),
        prepare=w4l.prepare,
        memory_check=True,
        worst=("writer_max_ms", "writer_p99_ms"),
    ),
    Workload(
        id="W7",
        module="bench.w7",
        unit="events/s",
        params=w7.params,
        n=lambda p: p["events"],
        raw=("bench.w4", "raw"),
        prepare=w7.prepare,
        memory_check=True,
    ),
    Workload(
        id="W5",
        module="bench.w5",
        unit="queries",
        params=w5.params,
        n=lambda p: p["tasks"],
        prepare=w5.prepare,
        latency=True,
    ),
    Workload(
        id="W9",
        module="bench.w9",
        unit="queries",
        params=w9.params,
        n=lambda p: max(p["sizes"]),
        prepare=w9.prepare,
        latency=True,
    ),
    Workload(
        id="W10",
        module="bench.w10",
        unit="plots/s",
        params=w10.params,
        n=lambda p: p["plots"],
        raw=("bench.w10", "raw"),
        memory_check=True,
    ),
    Workload(
        id="W8",
        module="bench.w8",
        unit="tasks/s",
        params=w8.params,
        n=lambda p: p["tasks"],
        raw=("bench.w8", "raw"),
        bound=("bench.w8_bound", "bound"),
    ),
    Workload(
        id="W6",
        module="bench.w6",
        ours="ping",
        unit="requests/s",
        params=w6.params,
        n=lambda p: p["clients"] * p["requests"],
        latency=True,
    ),
]
BY_ID = {w.id: w for w in WORKLOADS}


def measure(
    module: str,
    impl: str,
    server: str,
    p: dict[str, Any],
    runs: int,
    *,
    migrated: bool,
    shared: str | None,
    warm_up: bool = True,
) -> list[harness.RunResult]:
    results = []
    first = 0 if warm_up else 1
    for i in range(first, runs + 1):  # run 0 is the warm-up
        url = shared or harness.fresh_database(server, migrated=migrated)
        # On a cluster, the run's two-phase commits: the counter's rise over the run in its
        # own database (read before the run and after its sessions end).
        counting = citus.is_cluster(server) and shared is None
        try:
            before = citus.prepared_so_far(url) if counting else 0
            result = harness.run_child(module, impl, url, p)
            if counting:
                after = citus.prepared_so_far(url)
                result = msgspec.structs.replace(result, prepared=after - before)
        finally:
            if shared is None:
                harness.drop_database(server, url)
        if result.check != "ok":
            raise SystemExit(f"{module} {impl}: wrong results: {result.check}")
        if i:
            results.append(result)
    return results


# Baseline results by (module, impl, params): W3h's baseline is W3's, measured once.
_raw_results: dict[str, list[harness.RunResult]] = {}


def run_workload(w: Workload, server: str, quick: bool, runs: int, workdir: Path) -> dict[str, Any]:
    """Measure one workload and its baseline. Quick mode (a smoke run) skips the warm-ups and
    the memory run at N/10."""
    warm_up = not quick
    load_before = harness.load_average()
    p = w.params(quick)
    shared = None
    if w.prepare_file is not None:
        p = w.prepare_file(p, workdir)
    if w.prepare is not None:
        shared = harness.fresh_database(server, migrated=True)
        p = w.prepare(p, workdir, shared)
    try:
        ours_runs = measure(
            w.module, w.ours, server, p, runs, migrated=True, shared=shared, warm_up=warm_up
        )
        record: dict[str, Any] = {
            "workload": w.id,
            "impl": "tasktrack",
            "n": w.n(p),
            **harness.summary(ours_runs),
            "unit": w.unit,
        }
        if citus.is_cluster(server):
            record["prepared_per_run"] = [r.prepared for r in ours_runs]
        if w.latency:
            record["latency_ms"] = ours_runs[len(ours_runs) // 2].extra
        elif any(r.extra for r in ours_runs):
            record["extra"] = [r.extra for r in ours_runs]
            for key in w.worst:
                record[key] = max(r.extra.get(key) or 0 for r in ours_runs)
        if w.raw is not None:
            raw_p = w.raw_params(quick) if w.raw_params else p
            key = json.dumps([*w.raw, raw_p, runs, server], sort_keys=True)
            if key not in _raw_results:
                _raw_results[key] = measure(
                    w.raw[0],
                    w.raw[1],
                    server,
                    raw_p,
                    runs,
                    migrated=False,
                    shared=shared,
                    warm_up=warm_up,
                )
            raw_runs = _raw_results[key]
            raw = harness.summary(raw_runs)
            record.update(
                raw_rate=raw["rate"],
                raw_median_s=raw["median_s"],
                raw_runs=raw["runs"],
                raw_peak_rss_mb=raw["peak_rss_mb"],
                ratio_to_raw=round(record["rate"] / raw["rate"], 3),
            )
            if citus.is_cluster(server):
                record["raw_prepared_per_run"] = [r.prepared for r in raw_runs]
            if w.bound is not None and not citus.is_cluster(server):
                bound = harness.summary(
                    measure(
                        *w.bound, server, p, runs, migrated=True, shared=shared, warm_up=warm_up
                    )
                )
                record.update(
                    bound_rate=bound["rate"],
                    bound_runs=bound["runs"],
                    bound_ratio_to_raw=round(bound["rate"] / raw["rate"], 3),
                )
    finally:
        if shared is not None:
            harness.drop_database(server, shared)
    if w.memory_check and not quick:
        small = w.params(quick, scale=0.1)
        small_shared = None
        if w.prepare is not None:
            small_shared = harness.fresh_database(server, migrated=True)
            small = w.prepare(small, workdir, small_shared)
        try:
            small_runs = measure(
                w.module, w.ours, server, small, 1, migrated=True, shared=small_shared
            )
        finally:
            if small_shared is not None:
                harness.drop_database(server, small_shared)
        record["peak_rss_mb_at_tenth_n"] = round(small_runs[0].peak_rss_mb, 1)
    record["load_average"] = [load_before, harness.load_average()]  # 1 min, at start and end
    record["postgres"] = harness.postgres_version(server)
    record["git"] = harness.git_revision()
    return record


def probe(w: Workload, coordinator: str, quick: bool) -> dict[str, Any]:
    """Per command on the cluster: the statements the coordinator sent to workers and the
    PREPARE TRANSACTIONs among them, for tasktrack and for the raw baseline."""
    assert w.citus_params is not None
    assert w.raw is not None
    p = w.citus_params(quick)
    found: dict[str, Any] = {}
    for impl, migrated in (("tasktrack", True), ("raw", False)):
        url = harness.fresh_database(coordinator, migrated=migrated)
        try:
            found[impl] = harness.run_child(w.module, f"probe-{impl}", url, p).extra
        finally:
            harness.drop_database(coordinator, url)
    return {"per_command": found["tasktrack"], "raw_per_command": found["raw"]}


def _row(record: dict[str, Any]) -> list[str]:
    spread = f"{record['min_s']:.2f}-{record['max_s']:.2f} s"
    memory = f"{record['peak_rss_mb']:.0f} MB"
    if "peak_rss_mb_at_tenth_n" in record:
        memory += f" (N/10: {record['peak_rss_mb_at_tenth_n']:.0f})"
    if "latency_ms" in record:
        lat = record["latency_ms"]
        if "p99_ms" in lat:
            rate = f"{record['rate']:,.0f} {record['unit']}"
            figure = f"{rate}, p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms"
        else:
            figure = "; ".join(
                f"{k} p50 {v['p50_ms']} p99 {v['p99_ms']} ms" for k, v in lat.items()
            )
        return [record["workload"], str(record["n"]), figure, "-", "-", spread, memory]
    figure = f"{record['rate']:,.0f} {record['unit']}"
    if "writer_max_ms" in record:
        figure += f", writers' longest wait {record['writer_max_ms']:,.0f} ms"
    if "bound_rate" in record:
        figure += f" (bound {record['bound_rate']:,.0f}, {record['bound_ratio_to_raw']:.2f})"
    return [
        record["workload"] + (" on Citus" if record.get("place") == "citus" else ""),
        str(record["n"]),
        figure,
        f"{record.get('raw_rate', 0):,.0f}",
        f"{record.get('ratio_to_raw', 0):.2f}",
        spread,
        memory,
    ]


def _cluster_rows(record: dict[str, Any]) -> list[list[str]]:
    """What a workload sent to the cluster's workers: each probed command's statements and
    PREPAREs (those the coordinator logged, those every node counted), then the PREPAREs of
    each timed run of both sides."""
    rows = []
    for side, key in (("tasktrack", "per_command"), ("raw", "raw_per_command")):
        for command, counts in record.get(key, {}).items():
            rows.append(
                [
                    record["workload"],
                    f"{side}: {command} (probe)",
                    str(counts["remote_commands"]),
                    str(counts["prepared"]),
                    str(counts["prepared_all_nodes"]),
                ]
            )
    for side, key in (("tasktrack", "prepared_per_run"), ("raw", "raw_prepared_per_run")):
        if key in record:
            runs = ", ".join(str(n) for n in record[key])
            rows.append([record["workload"], f"{side}: each timed run, whole", "-", "-", runs])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about 10x smaller (CI smoke)")
    parser.add_argument("--only", default=",".join(BY_ID), help="comma-separated workload ids")
    parser.add_argument(
        "--runs", type=int, default=None, help="measured runs per implementation (3; quick: 1)"
    )
    parser.add_argument(
        "--citus-url",
        default=None,
        help="also run W1c/W3 on this Citus coordinator (maintenance database, workers added)",
    )
    args = parser.parse_args()
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(wanted) - set(BY_ID))
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {list(BY_ID)}")
    if args.citus_url:
        unsupported = [name for name in wanted if BY_ID[name].citus_params is None]
        if unsupported:
            parser.error(
                f"--citus-url runs only {[w.id for w in WORKLOADS if w.citus_params]}; "
                f"not {unsupported}"
            )

    table = Table(title="tasktrack vs raw PostgreSQL (medians)")
    for column in ("workload", "n", "tasktrack", "raw", "ratio", "spread", "peak RSS"):
        table.add_column(column)
    cluster = Table(title="sent to the Citus workers")
    for column in ("workload", "what", "statements", "PREPAREs logged", "PREPAREs, all nodes"):
        cluster.add_column(column)
    with harness.server() as server, tempfile.TemporaryDirectory(prefix="tt-bench-") as tmp:
        for name in wanted:
            w = BY_ID[name]
            places: list[tuple[str, str, Workload]] = [("postgres", server, w)]
            if args.citus_url:
                assert w.citus_params is not None
                spread = msgspec.structs.replace(w, params=w.citus_params)
                coordinator = citus.register(args.citus_url)
                places = [("postgres", server, spread), ("citus", coordinator, spread)]
            for place, where, workload in places:
                record = run_workload(workload, where, args.quick, runs, Path(tmp))
                if args.citus_url:
                    record["place"] = place
                if place == "citus":
                    record.update(probe(workload, where, args.quick))
                sys.stdout.write(json.dumps(record) + "\n")
                sys.stdout.flush()
                table.add_row(*_row(record))
                for row in _cluster_rows(record):
                    cluster.add_row(*row)
    console = Console(stderr=True, width=160)
    console.print(table)
    if args.citus_url:
        console.print(cluster)


if __name__ == "__main__":
    main()
