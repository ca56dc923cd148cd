"""How `tasktrack tasks show` lists what a task reported besides scalars: plots, debug
images and single values, as rich tables and as a JSON document."""

from __future__ import annotations

from typing import Any

import msgspec
from rich import box
from rich.table import Table

from tasktrack.queries.reported_summary import ReportedSummary


def plots_table(found: ReportedSummary) -> Table | None:
    """One row per plot (metric, variant): its kind, iterations and the last one."""
    if not found.plots:
        return None
    table = Table(title=f"plots ({len(found.plots)})", box=box.SIMPLE_HEAD)
    for column in ("metric", "variant", "kind"):
        table.add_column(column)
    for column in ("iterations", "last iter"):
        table.add_column(column, justify="right")
    for p in found.plots:
        table.add_row(p.metric, p.variant, p.kind, str(p.iterations), str(p.last_iter))
    return table


def single_values_table(found: ReportedSummary) -> Table | None:
    if not found.single_values:
        return None
    table = Table(title=f"single values ({len(found.single_values)})", box=box.SIMPLE_HEAD)
    for column in ("metric", "variant"):
        table.add_column(column)
    table.add_column("value", justify="right")
    for v in found.single_values:
        table.add_row(v.metric, v.variant, f"{v.value:.6g}")
    return table


def images_table(found: ReportedSummary) -> Table | None:
    """One row per debug image (metric, variant): how many iterations, the last and its URL."""
    if not found.images:
        return None
    table = Table(title=f"debug images ({len(found.images)})", box=box.SIMPLE_HEAD)
    for column in ("metric", "variant"):
        table.add_column(column)
    for column in ("iterations", "last iter"):
        table.add_column(column, justify="right")
    table.add_column("last url", overflow="fold")
    for i in found.images:
        table.add_row(i.metric, i.variant, str(i.iterations), str(i.last_iter), i.last_url)
    return table


def tables(found: ReportedSummary) -> list[Table]:
    made = (plots_table(found), single_values_table(found), images_table(found))
    return [t for t in made if t is not None]


def document(found: ReportedSummary) -> dict[str, Any]:
    """{plots, single_values, debug_images}: lists of plain objects."""
    plain = msgspec.to_builtins(found)
    return {
        "plots": plain["plots"],
        "single_values": plain["single_values"],
        "debug_images": plain["images"],
    }
