"""The report's reported plots: each plotly figure as a figure of SVG (bars, histograms,
scatter and line traces, heatmaps) or an HTML table, with its title."""

from __future__ import annotations

from html import escape
from typing import Any

from tasktrack.cli import report_traces as traces
from tasktrack.cli.report_model import PlotFigure

MAX_ROWS = 50  # a table's rows shown; the rest are counted


def _title(figure: dict[str, Any]) -> str:
    layout = figure.get("layout")
    title = layout.get("title") if isinstance(layout, dict) else None
    if isinstance(title, dict):
        title = title.get("text")
    return str(title) if title else ""


def table_html(trace: dict[str, Any]) -> str:
    """A plotly table trace (report_table): header values, then the cells' columns as rows."""
    header = trace.get("header")
    cells = trace.get("cells")
    names = header.get("values") if isinstance(header, dict) else None
    columns = cells.get("values") if isinstance(cells, dict) else None
    if not isinstance(columns, list) or not all(isinstance(c, list) for c in columns):
        return ""
    height = max((len(c) for c in columns), default=0)
    head = "".join(f"<th>{escape(str(n))}</th>" for n in names or [])
    rows = [
        "<tr>"
        + "".join(f"<td>{escape(str(c[i]) if i < len(c) else '')}</td>" for c in columns)
        + "</tr>"
        for i in range(min(height, MAX_ROWS))
    ]
    more = f'<p class="meta">… and {height - MAX_ROWS} more rows</p>' if height > MAX_ROWS else ""
    return (
        f'<table class="plot-table" data-rows="{height}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def drawing(figure: dict[str, Any]) -> tuple[str, str]:
    """(kind, HTML) of a figure: by its first trace's type; ("", "") when nothing is drawable."""
    data = figure.get("data")
    found = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
    if not found:
        return "", ""
    kind = str(found[0].get("type") or "scatter")
    same = [t for t in found if str(t.get("type") or "scatter") == kind]
    if kind == "table":
        return kind, table_html(same[0])
    if kind == "bar":
        return kind, traces.bars_svg(same)
    if kind == "histogram":
        return kind, traces.bars_svg(traces.histogram_traces(same))
    if kind in ("scatter", "scattergl"):
        return kind, traces.scatter_svg(same)
    if kind == "heatmap":
        return kind, traces.heatmap_svg(same[0])
    return kind, ""


def plot_html(plot: PlotFigure) -> str:
    """A figure: metric / variant (and the figure's title), its drawing, its iteration."""
    kind, body = drawing(plot.figure)
    if not body:
        body = f'<p class="empty">a {escape(kind or "plot")} figure: not drawn in this report</p>'
    title = _title(plot.figure)
    caption = f"{plot.metric} / {plot.variant}" + (f" · {title}" if title else "")
    return (
        f'<figure class="plot" data-metric="{escape(plot.metric)}" '
        f'data-variant="{escape(plot.variant)}" data-kind="{escape(kind)}" '
        f'data-iter="{plot.iter}"><figcaption>{escape(caption)}</figcaption>{body}'
        f'<p class="meta">iteration {plot.iter}</p></figure>'
    )
