"""`python -m bench [--quick] [--only W3,...] [--runs N]`: BENCH.md's workloads, with baselines.

Every workload runs tasktrack and its raw-PostgreSQL baseline in the same session on the same
server, each run on a fresh database in a fresh process, after one warm-up run; the figure that
counts is the ratio of the medians. One JSON object per workload goes to stdout, a table to
stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import harness, w3

WORKLOADS: dict[str, Any] = {"W3": w3}


def measure(module: Any, impl: str, server: str, p: dict[str, Any], runs: int) -> list[Any]:
    results = []
    for i in range(runs + 1):  # the first is the warm-up
        url = harness.fresh_database(server, migrated=impl != "raw")
        try:
            result = harness.run_child(module.__name__, impl, url, p)
        finally:
            harness.pgserver.drop_database(server, url)
        if result.check != "ok":
            raise SystemExit(f"{module.__name__} {impl}: wrong results: {result.check}")
        if i:
            results.append(result)
    return results


def run_workload(name: str, server: str, quick: bool, runs: int) -> list[dict[str, Any]]:
    module = WORKLOADS[name]
    p = module.params(quick)
    raw = harness.summary(measure(module, "raw", server, p, runs))
    ours = harness.summary(measure(module, "tasktrack", server, p, runs))
    record = {
        "workload": name,
        "impl": "tasktrack",
        "n": p["tasks"] * p["series"] * p["iters"],
        **ours,
        "unit": "points/s",
        "raw_rate": raw["rate"],
        "raw_median_s": raw["median_s"],
        "raw_runs": raw["runs"],
        "raw_peak_rss_mb": raw["peak_rss_mb"],
        "ratio_to_raw": round(ours["rate"] / raw["rate"], 3),
        "postgres": harness.postgres_version(server),
        "git": harness.git_revision(),
    }
    # Memory must not grow with N: the same workload at a tenth of the size, for comparison.
    small = module.params(quick, scale=0.1)
    small_runs = measure(module, "tasktrack", server, small, 1)
    record["peak_rss_mb_at_tenth_n"] = round(small_runs[0].peak_rss_mb, 1)
    return [record]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about 10x smaller (CI smoke)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated ids")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per implementation")
    args = parser.parse_args()
    wanted = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(wanted) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {sorted(WORKLOADS)}")

    table = Table(title="tasktrack vs raw PostgreSQL (medians)")
    for column in ("workload", "n", "tasktrack", "raw", "ratio", "spread (s)", "peak RSS"):
        table.add_column(column)
    with harness.server() as server:
        for name in wanted:
            for record in run_workload(name, server, args.quick, args.runs):
                sys.stdout.write(json.dumps(record) + "\n")
                sys.stdout.flush()
                table.add_row(
                    name,
                    str(record["n"]),
                    f"{record['rate']:,.0f} {record['unit']}",
                    f"{record['raw_rate']:,.0f}",
                    f"{record['ratio_to_raw']:.2f}",
                    f"{record['min_s']:.2f}-{record['max_s']:.2f}",
                    f"{record['peak_rss_mb']:.0f} MB "
                    f"(N/10: {record['peak_rss_mb_at_tenth_n']:.0f})",
                )
    Console(stderr=True, width=140).print(table)


if __name__ == "__main__":
    main()
