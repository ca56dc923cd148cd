"""What a task reported besides scalar curves, at a glance: its plots, debug images and
single values (one row per metric and variant), for `tasktrack tasks show`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import Connection

from tasktrack.queries import reported, scalars

_figure = msgspec.json.Decoder(dict[str, Any])


class ReportedSeries(msgspec.Struct, frozen=True, kw_only=True):
    """A plot or debug image series: how many iterations it has, the last, and what it shows
    (the plot's kind, e.g. "bar", "scatter", "table"; the image's last URL)."""

    metric: str
    variant: str
    iterations: int
    last_iter: int
    kind: str = ""
    last_url: str = ""


class SingleValue(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    variant: str
    value: float


class ReportedSummary(msgspec.Struct, frozen=True, kw_only=True):
    plots: list[ReportedSeries]
    images: list[ReportedSeries]
    single_values: list[SingleValue]


KIND_BODIES = 100


def plot_kind(plot_str: Any) -> str:
    """The kind of a plotly figure as the report draws it: its first trace's type ("scatter"
    when a trace names none, as plotly), "table", or "" for what is not a figure."""
    try:
        figure = _figure.decode(plot_str) if isinstance(plot_str, str | bytes) else plot_str
    except msgspec.DecodeError:
        return ""
    data = figure.get("data") if isinstance(figure, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return ""
    kind = data[0].get("type") or "scatter"
    return str(kind)


def _series(rows: Iterable[reported.Indexed]) -> dict[tuple[str, str], list[reported.Indexed]]:
    groups: dict[tuple[str, str], list[reported.Indexed]] = {}
    for r in rows:
        groups.setdefault((r.metric, r.variant), []).append(r)
    return {k: sorted(v, key=lambda r: (r.iter, r.seq)) for k, v in sorted(groups.items())}


def summary(conn: Connection, company: str, task: str) -> ReportedSummary:
    """The task's plots (with the kind of each one's latest figure), debug images and single
    values of its current run; an unknown task is TaskNotFound."""
    reported.task_names(conn, company, [task])
    rows = reported.index(conn, company, [task], None)
    plot_groups = _series(r for r in rows if r.type == reported.PLOT)
    image_groups = _series(r for r in rows if r.type == reported.IMAGE)
    latest_plots = [group[-1] for group in plot_groups.values()]
    # A figure's kind needs its body (it can be megabytes): read at most KIND_BODIES of them;
    # the series past that are listed with the kind unnamed ("").
    read = reported.bodies(conn, company, latest_plots[:KIND_BODIES])
    kinds = [plot_kind(b.get("plot_str")) for b in read]
    kinds += [""] * (len(latest_plots) - len(kinds))
    plots = [
        ReportedSeries(
            metric=metric,
            variant=variant,
            iterations=len({r.iter for r in group}),
            last_iter=group[-1].iter,
            kind=kind,
        )
        for ((metric, variant), group), kind in zip(plot_groups.items(), kinds, strict=True)
    ]
    images = [
        ReportedSeries(
            metric=metric,
            variant=variant,
            iterations=len({r.iter for r in group}),
            last_iter=group[-1].iter,
            last_url=group[-1].url or "",
        )
        for (metric, variant), group in image_groups.items()
    ]
    found = scalars.single_values(conn, company, [task], None)
    values = [
        SingleValue(metric=v["metric"], variant=v["variant"], value=v["value"])
        for entry in found
        for v in entry["values"]
    ]
    return ReportedSummary(plots=plots, images=images, single_values=values)
