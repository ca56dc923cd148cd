"""Plotly traces drawn as plain SVG for the report: bars and histograms, scatter and line
traces, heatmaps (confusion matrices). No plotly.js: the page stays one offline file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from tasktrack.cli.report_axes import Scale, nice_ticks, number_label
from tasktrack.cli.report_curves import PALETTE

WIDTH = 480
HEIGHT = 300
LEFT = 64
RIGHT = 16
TOP = 12
BOTTOM = 44
MAX_POINTS = 2000  # a scatter trace beyond this is thinned (every n-th point) to stay light
HISTOGRAM_BINS = 20


def numbers(values: Any) -> list[float] | None:
    """A list of finite-or-not floats, or None when any value is not a number."""
    if not isinstance(values, list):
        return None
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        out.append(float(v))
    return out


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _frame(x_scale: Scale, y_scale: Scale, x_ticks: list[str], y_ticks: list[float]) -> str:
    """Axes, grid lines and tick labels; x ticks are (label) strings at domain positions."""
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#555"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#555"/>'
    ]
    for t in y_ticks:
        y = round(y_scale(t), 2)
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="#eee"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">'
            f"{number_label(t)}</text>"
        )
    for label in x_ticks:
        position, _, text = label.partition("|")
        x = round(x_scale(float(position)), 2)
        out.append(
            f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(text[:12])}</text>"
        )
    return "".join(out)


def _svg(kind: str, body: str) -> str:
    return (
        f'<svg class="plot-chart" data-kind="{kind}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{body}</svg>'
    )


def _y_scale(values: list[float], floor: float | None = None) -> tuple[Scale, list[float]]:
    finite = _finite(values) + ([floor] if floor is not None else [])
    ticks = nice_ticks(min(finite, default=0.0), max(finite, default=1.0))
    return Scale(ticks[0], ticks[-1], HEIGHT - BOTTOM, TOP), ticks


def bars_svg(traces: list[dict[str, Any]]) -> str:
    """Bar traces (report_histogram) side by side per category; x is read as categories."""
    series = []
    for t in traces:
        ys = numbers(t.get("y"))
        if ys is None:
            continue
        raw = t.get("x")
        xs: list[Any] = raw if isinstance(raw, list) else list(range(len(ys)))
        series.append((str(t.get("name") or ""), [str(x) for x in xs][: len(ys)], ys))
    categories = list(dict.fromkeys(c for _, xs, _ in series for c in xs))
    if not categories:
        return ""
    y_scale, y_ticks = _y_scale([y for _, _, ys in series for y in ys], floor=0.0)
    x_scale = Scale(-0.5, len(categories) - 0.5, LEFT, WIDTH - RIGHT)
    band = (WIDTH - RIGHT - LEFT) / len(categories) * 0.8 / len(series)
    step = max(1, len(categories) // 8)
    x_ticks = [f"{i}|{c}" for i, c in enumerate(categories) if i % step == 0]
    rects = []
    for n, (name, xs, ys) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        for x, y in zip(xs, ys, strict=False):
            if not math.isfinite(y):
                continue
            left = x_scale(categories.index(x)) - band * len(series) / 2 + n * band
            top, zero = y_scale(max(y, 0.0)), y_scale(min(y, 0.0))
            rects.append(
                f'<rect class="plot-bar" data-series="{escape(name)}" x="{round(left, 2)}" '
                f'y="{round(top, 2)}" width="{round(max(band, 1.0), 2)}" '
                f'height="{round(max(zero - top, 0.0), 2)}" fill="{colour}">'
                f"<title>{escape(name)} {escape(x)}: {number_label(y)}</title></rect>"
            )
    return _svg("bar", _frame(x_scale, y_scale, x_ticks, y_ticks) + "".join(rects))


def histogram_traces(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plotly `histogram` traces (raw samples) binned into bar traces."""
    out = []
    for t in traces:
        samples = _finite(numbers(t.get("x")) or [])
        if not samples:
            continue
        lo, hi = min(samples), max(samples)
        width = (hi - lo) / HISTOGRAM_BINS or 1.0
        counts = [0.0] * HISTOGRAM_BINS
        for v in samples:
            counts[min(int((v - lo) / width), HISTOGRAM_BINS - 1)] += 1
        edges = [float(f"{lo + i * width:.4g}") for i in range(HISTOGRAM_BINS)]
        out.append({"name": t.get("name"), "x": edges, "y": counts})
    return out


def scatter_svg(traces: list[dict[str, Any]]) -> str:
    """Scatter traces: a polyline where the mode has lines (plotly's default for a trace with
    no mode), circles where it has markers."""
    series = []
    for t in traces:
        ys = numbers(t.get("y"))
        if ys is None:
            continue
        xs = numbers(t.get("x")) or [float(i) for i in range(len(ys))]
        points = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(x + y)]
        every = max(1, math.ceil(len(points) / MAX_POINTS))
        mode = str(t.get("mode") or "lines")
        series.append((str(t.get("name") or ""), points[::every], mode))
    all_points = [p for _, points, _ in series for p in points]
    if not all_points:
        return ""
    x_ticks = nice_ticks(min(x for x, _ in all_points), max(x for x, _ in all_points))
    x_scale = Scale(x_ticks[0], x_ticks[-1], LEFT, WIDTH - RIGHT)
    y_scale, y_ticks = _y_scale([y for _, y in all_points])
    parts = []
    for n, (name, points, mode) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        pixels = [(round(x_scale(x), 2), round(y_scale(y), 2)) for x, y in points]
        if "lines" in mode:
            parts.append(
                f'<polyline class="plot-line" data-series="{escape(name)}" '
                f'data-points="{len(pixels)}" fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(f"{x},{y}" for x, y in pixels)}">'
                f"<title>{escape(name)}</title></polyline>"
            )
        if "markers" in mode:
            parts.extend(
                f'<circle class="plot-marker" data-series="{escape(name)}" cx="{x}" cy="{y}" '
                f'r="3" fill="{colour}"/>'
                for x, y in pixels
            )
    labels = [f"{t}|{number_label(t)}" for t in x_ticks]
    return _svg("scatter", _frame(x_scale, y_scale, labels, y_ticks) + "".join(parts))


def heatmap_svg(trace: dict[str, Any]) -> str:
    """A heatmap (report_confusion_matrix): a cell per value, darker for larger."""
    z = trace.get("z")
    rows = [numbers(r) for r in z] if isinstance(z, list) else []
    if not rows or any(r is None for r in rows):
        return ""
    grid = [r for r in rows if r is not None]
    values = _finite([v for r in grid for v in r]) or [0.0]
    lo, hi = min(values), max(values)
    width = max(len(r) for r in grid)
    cell_w = (WIDTH - RIGHT - LEFT) / max(width, 1)
    cell_h = (HEIGHT - BOTTOM - TOP) / len(grid)
    cells = []
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            shade = 0.0 if hi == lo or not math.isfinite(v) else (v - lo) / (hi - lo)
            y = HEIGHT - BOTTOM - (i + 1) * cell_h  # row 0 at the bottom, as plotly
            cells.append(
                f'<rect class="plot-cell" x="{round(LEFT + j * cell_w, 2)}" y="{round(y, 2)}" '
                f'width="{round(cell_w, 2)}" height="{round(cell_h, 2)}" fill="#1d4ed8" '
                f'fill-opacity="{round(0.08 + 0.92 * shade, 3)}">'
                f"<title>[{i}][{j}] = {number_label(v)}</title></rect>"
            )
    return _svg("heatmap", "".join(cells))
