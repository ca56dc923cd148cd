"""The report's metric charts: one SVG per metric, a polyline per variant, with axes."""

from __future__ import annotations

import math
from html import escape

from tasktrack.cli.report_axes import Scale, nice_ticks, number_label
from tasktrack.cli.report_model import Curve, MetricChart

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d")
WIDTH = 640
HEIGHT = 320
LEFT = 72
RIGHT = 16
TOP = 16
BOTTOM = 48


def finite_points(curve: Curve) -> list[tuple[int, float]]:
    """The points a polyline can draw (NaN and infinities have no place on an axis)."""
    return [(x, y) for x, y in zip(curve.x, curve.y, strict=True) if math.isfinite(y)]


def scales(chart: MetricChart) -> tuple[Scale, Scale, list[float], list[float]]:
    """The x (iteration) and y (value) scales over every variant, and their round ticks."""
    points = [p for c in chart.curves for p in finite_points(c)]
    xs = [float(x) for x, _ in points] or [0.0]
    ys = [y for _, y in points] or [0.0]
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x_scale = Scale(x_ticks[0], x_ticks[-1], LEFT, WIDTH - RIGHT)
    y_scale = Scale(y_ticks[0], y_ticks[-1], HEIGHT - BOTTOM, TOP)
    return x_scale, y_scale, x_ticks, y_ticks


def polyline_points(curve: Curve, x_scale: Scale, y_scale: Scale) -> str:
    """The SVG `points` attribute: "x,y" pixel pairs in iteration order."""
    return " ".join(
        f"{round(x_scale(x), 2)},{round(y_scale(y), 2)}" for x, y in finite_points(curve)
    )


def _axes(x_scale: Scale, y_scale: Scale, x_ticks: list[float], y_ticks: list[float]) -> str:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = [
        f'<g class="axes"><line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" '
        f'stroke="#555"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#555"/>'
    ]
    for t in x_ticks:
        x = round(x_scale(t), 2)
        out.append(
            f'<line class="grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{bottom}" stroke="#eee"/>'
            f'<text class="tick x-tick" x="{x}" y="{bottom + 16}" text-anchor="middle">'
            f"{number_label(t)}</text>"
        )
    for t in y_ticks:
        y = round(y_scale(t), 2)
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="#eee"/>'
            f'<text class="tick y-tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">'
            f"{number_label(t)}</text>"
        )
    out.append(
        f'<text class="axis-title" x="{(LEFT + right) / 2}" y="{HEIGHT - 10}" '
        'text-anchor="middle">iteration</text>'
        f'<text class="axis-title" transform="translate(14 {(TOP + bottom) / 2}) rotate(-90)" '
        'text-anchor="middle">value</text></g>'
    )
    return "".join(out)


def chart_html(chart: MetricChart) -> str:
    """A figure: the metric's name, its SVG, and a legend of its variants."""
    x_scale, y_scale, x_ticks, y_ticks = scales(chart)
    lines, legend = [], []
    for n, curve in enumerate(chart.curves):
        colour = PALETTE[n % len(PALETTE)]
        drawn = finite_points(curve)
        lines.append(
            f'<polyline class="metric-curve" data-metric="{escape(chart.metric)}" '
            f'data-variant="{escape(curve.variant)}" data-points="{len(drawn)}" '
            f'data-skipped="{len(curve.x) - len(drawn)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" points="{polyline_points(curve, x_scale, y_scale)}">'
            f"<title>{escape(chart.metric)} / {escape(curve.variant)}</title></polyline>"
        )
        legend.append(
            f'<li data-variant="{escape(curve.variant)}"><span class="swatch" '
            f'style="background:{colour}"></span>{escape(curve.variant)}</li>'
        )
    return (
        f'<figure class="metric" data-metric="{escape(chart.metric)}">'
        f"<figcaption>{escape(chart.metric)}</figcaption>"
        f'<svg class="metric-chart" data-metric="{escape(chart.metric)}" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"{_axes(x_scale, y_scale, x_ticks, y_ticks)}{''.join(lines)}</svg>"
        f'<ul class="legend">{"".join(legend)}</ul></figure>'
    )
