"""The report's status timeline: an SVG Gantt chart, one row per task, one bar per interval."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

import msgspec

from tasktrack.cli.report_axes import Scale, time_label, time_ticks
from tasktrack.cli.report_model import Interval, TaskTimeline
from tasktrack.domain.values import STATUSES

STATUS_COLOURS: dict[str, str] = {
    "created": "#b0b7c3",
    "queued": "#f2c14e",
    "in_progress": "#3b82f6",
    "stopped": "#f97316",
    "published": "#7c3aed",
    "publishing": "#a78bfa",
    "closed": "#64748b",
    "failed": "#dc2626",
    "completed": "#16a34a",
    "unknown": "#111827",
}

WIDTH = 960
LABEL_WIDTH = 240
RIGHT = 40  # room for the last tick label
TOP = 8
ROW_HEIGHT = 28
BAR_HEIGHT = 18
AXIS_HEIGHT = 44
MIN_BAR = 1.0  # pixels: an interval of a millisecond stays visible
NAME_CHARS = 32
TAIL = 0.1  # past the last change, when the chart stops short of now: a tenth of its span


class Bar(msgspec.Struct, frozen=True):
    """Where an interval's rectangle goes, in pixels."""

    x: float
    y: float
    width: float
    height: float


def window(timelines: list[TaskTimeline], now: datetime) -> tuple[datetime, datetime]:
    """The time span the chart covers, chosen from the data: from the earliest interval to
    now when now is within one span of the changes after the last one; else (a scenario
    played in a second, reported a minute later) to the last change plus a tenth of the span,
    so that the bars show the changes instead of all running to now. At least 1 ms."""
    starts = [i.start for t in timelines for i in t.intervals]
    start = min(starts, default=now)
    last = max(starts, default=now)
    span = last - start
    end = now if now - last <= span else last + max(span * TAIL, timedelta(milliseconds=1))
    return start, max(end, start + timedelta(milliseconds=1))


def time_scale(start: datetime, end: datetime) -> Scale:
    return Scale(0.0, (end - start).total_seconds(), LABEL_WIDTH, WIDTH - RIGHT)


def bar(interval: Interval, row: int, start: datetime, scale: Scale) -> Bar:
    """The interval's rectangle; one that runs on past the chart's end is cut at its edge."""
    x0 = scale((interval.start - start).total_seconds())
    x1 = min(scale((interval.end - start).total_seconds()), scale.px1)
    top = TOP + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
    return Bar(round(x0, 2), round(top, 2), round(max(x1 - x0, MIN_BAR), 2), BAR_HEIGHT)


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _bar_svg(task: TaskTimeline, interval: Interval, b: Bar, end: datetime) -> str:
    colour = STATUS_COLOURS.get(interval.status, "#000000")
    span = interval.end - interval.start
    cut = interval.end > end
    tip = (
        f"{task.name}: {interval.status} from {interval.start.isoformat()} "
        f"to {interval.end.isoformat()} ({span.total_seconds():.3f} s)"
        + (", runs on past the chart's end" if cut else "")
    )
    return (
        f'<rect class="status-bar" data-task-id="{escape(task.id)}" '
        f'data-cut="{"yes" if cut else "no"}" '
        f'data-status="{escape(interval.status)}" data-version="{interval.version}" '
        f'data-start="{escape(interval.start.isoformat())}" '
        f'data-end="{escape(interval.end.isoformat())}" '
        f'x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}" fill="{colour}">'
        f"<title>{escape(tip)}</title></rect>"
    ) + (_runs_on(b, colour) if cut else "")


def _runs_on(b: Bar, colour: str) -> str:
    """A small arrow past a cut bar's end: the status went on (to now)."""
    x, mid = round(b.x + b.width + 2, 2), b.y + b.height / 2
    return (
        f'<polygon class="runs-on" points="{x},{b.y} {x + 7},{mid} {x},{b.y + b.height}" '
        f'fill="{colour}" opacity="0.6"/>'
    )


def _axis_svg(start: datetime, end: datetime, scale: Scale, bottom: float) -> list[str]:
    ticks, step = time_ticks(start, end)
    out = [
        f'<g class="time-axis" data-ticks="{len(ticks)}">',
        f'<line x1="{LABEL_WIDTH}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" '
        'stroke="#555"/>',
    ]
    for tick in ticks:
        x = round(scale((tick - start).total_seconds()), 2)
        out.append(
            f'<line class="grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{bottom + 4}" stroke="#ddd"/>'
            f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(time_label(tick, step))}</text>"
        )
    out.append(
        f'<text class="axis-title" x="{(LABEL_WIDTH + WIDTH - RIGHT) / 2}" y="{bottom + 34}" '
        'text-anchor="middle">time (UTC)</text></g>'
    )
    return out


def gantt_svg(timelines: list[TaskTimeline], now: datetime) -> str:
    """The chart: a labelled row per task, bars coloured by status, a time axis below."""
    start, end = window(timelines, now)
    scale = time_scale(start, end)
    bottom = TOP + len(timelines) * ROW_HEIGHT
    parts = [
        f'<svg class="gantt" width="{WIDTH}" height="{bottom + AXIS_HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {bottom + AXIS_HEIGHT}" role="img" '
        f'data-start="{escape(start.isoformat())}" data-end="{escape(end.isoformat())}" '
        f'data-now="{escape(now.isoformat())}">'
    ]
    parts.extend(_axis_svg(start, end, scale, bottom))  # first: grid lines stay behind bars
    for row, task in enumerate(timelines):
        label_y = TOP + row * ROW_HEIGHT + ROW_HEIGHT / 2 + 4
        parts.append(
            f'<g class="task-row" data-task-id="{escape(task.id)}" data-row="{row}" '
            f'data-bars="{len(task.intervals)}">'
            f'<text class="task-label" x="{LABEL_WIDTH - 8}" y="{label_y}" text-anchor="end">'
            f"<title>{escape(task.name)} ({escape(task.id)})</title>{escape(_short(task.name))}"
            "</text>"
        )
        parts.extend(_bar_svg(task, i, bar(i, row, start, scale), end) for i in task.intervals)
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def legend_html(timelines: list[TaskTimeline]) -> str:
    """The statuses the chart uses, in lifecycle order, with their colours."""
    used = {i.status for t in timelines for i in t.intervals}
    items = [
        f'<li data-status="{escape(s)}"><span class="swatch" '
        f'style="background:{STATUS_COLOURS[s]}"></span>{escape(s)}</li>'
        for s in STATUSES
        if s in used
    ]
    return f'<ul class="legend">{"".join(items)}</ul>'
