"""The report page: a pure function from a `Report` to one self-contained HTML document."""

from __future__ import annotations

from datetime import UTC
from html import escape

from tasktrack.cli.report_curves import chart_html
from tasktrack.cli.report_gantt import gantt_svg, legend_html
from tasktrack.cli.report_model import Report
from tasktrack.cli.report_plots import plot_html

# Inline only: the page loads nothing from anywhere (no fonts, scripts or styles by URL).
CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2937; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.meta, .empty { color: #6b7280; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; }
svg .task-label { font-size: 12px; }
svg .axis-title { font-size: 12px; fill: #6b7280; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
          vertical-align: -1px; border-radius: 2px; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure.metric { margin: 0; } figcaption { font-weight: 600; }
rect.status-bar:hover, polyline.metric-curve:hover { opacity: 0.75; }
figure.plot { margin: 0; max-width: 480px; }
table.plot-table { border-collapse: collapse; font-size: 12px; }
table.plot-table th, table.plot-table td { border: 1px solid #e5e7eb; padding: 2px 8px; }
table.plot-table th { background: #f3f4f6; text-align: left; }
"""


def _timeline_section(report: Report) -> str:
    if not report.timelines:
        return (
            '<section id="timeline"><h2>Status timeline</h2><p class="empty">no tasks</p></section>'
        )
    return (
        f'<section id="timeline" data-tasks="{len(report.timelines)}">'
        "<h2>Status timeline</h2>"
        f"{legend_html(report.timelines)}{gantt_svg(report.timelines, report.generated)}"
        '<p class="meta">One row per task, one bar per status interval [entered, left); '
        "the last runs to the time of this report, or, when the chart ends before it, on past "
        "its edge (an arrow).</p></section>"
    )


def _metrics_section(report: Report) -> str:
    if report.metrics_task_id is None:
        return (
            '<section id="metrics"><h2>Metrics</h2>'
            '<p class="empty">none of these tasks reported metrics</p></section>'
        )
    who = f"{report.metrics_task_name or ''} ({report.metrics_task_id})"
    body = "".join(chart_html(c) for c in report.charts) or (
        '<p class="empty">no scalar metrics reported</p>'
    )
    plots = "".join(plot_html(p) for p in report.plots)
    return (
        f'<section id="metrics" data-task-id="{escape(report.metrics_task_id)}" '
        f'data-charts="{len(report.charts)}" data-plots="{len(report.plots)}">'
        f"<h2>Metrics and plots of {escape(who)}</h2>"
        f'<div class="charts">{body}{plots}</div></section>'
    )


def render(report: Report) -> str:
    """The whole page; every string that came from a user is HTML-escaped."""
    generated = report.generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(report.title)}</h1>"
        f'<p class="meta">generated {generated} · {len(report.timelines)} task(s)</p>'
        f"{_timeline_section(report)}{_metrics_section(report)}</body></html>\n"
    )
