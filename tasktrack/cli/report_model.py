"""What the HTML report shows, as typed data, and how it is derived from tasktrack's answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from tasktrack.domain.values import Status
from tasktrack.queries.metrics import Series
from tasktrack.queries.views import StatusHistoryEntry


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    """A task in one status over [start, end); `version` is the stream version that entered it."""

    status: Status
    start: datetime
    end: datetime
    version: int


class TaskTimeline(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the Gantt chart: a task and its status intervals, oldest first."""

    id: str
    name: str
    intervals: list[Interval]


class Curve(msgspec.Struct, frozen=True, kw_only=True):
    """One variant of a metric: values by iteration."""

    variant: str
    x: list[int]
    y: list[float]


class MetricChart(msgspec.Struct, frozen=True, kw_only=True):
    """One metric of a task, drawn as one chart with a curve per variant."""

    metric: str
    curves: list[Curve]


class PlotFigure(msgspec.Struct, frozen=True, kw_only=True):
    """A plot the task reported (its latest iteration): the plotly figure as sent."""

    metric: str
    variant: str
    iter: int
    figure: dict[str, Any]


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the page shows; `generated` is "now", where the last intervals end."""

    title: str
    generated: datetime
    timelines: list[TaskTimeline]
    metrics_task_id: str | None = None
    metrics_task_name: str | None = None
    charts: list[MetricChart] = []
    plots: list[PlotFigure] = []


def status_intervals(
    created: datetime, history: Sequence[StatusHistoryEntry], current: Status, now: datetime
) -> list[Interval]:
    """The intervals between status changes: the first starts at `created` (in the status the
    first change left, or the current one if there was no change), the last runs to `now`."""
    first: Status = history[0].from_status if history else current
    starts = [(created, first, 1)] + [(h.at, h.to_status, h.version) for h in history]
    out: list[Interval] = []
    for i, (start, status, version) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else now
        out.append(Interval(status=status, start=start, end=max(end, start), version=version))
    return out


def metric_charts(series: Series) -> list[MetricChart]:
    """A chart per metric (by name), a curve per variant (by name)."""
    return [
        MetricChart(
            metric=metric,
            curves=[
                Curve(variant=variant, x=list(view.x), y=list(view.y))
                for variant, view in sorted(variants.items())
            ],
        )
        for metric, variants in sorted(series.items())
    ]


_figure = msgspec.json.Decoder(dict[str, Any])


def plot_figures(answer: dict[str, Any], most: int) -> list[PlotFigure]:
    """The plots of an events.get_task_plots answer (at most `most`, by metric and variant);
    a plot whose plot_str is not a JSON object is left out."""
    out = []
    for event in answer.get("plots", []):
        raw = event.get("plot_str")
        try:
            figure = _figure.decode(raw) if isinstance(raw, str | bytes) else raw
        except msgspec.DecodeError:
            continue
        if not isinstance(figure, dict):
            continue
        out.append(
            PlotFigure(
                metric=str(event.get("metric", "")),
                variant=str(event.get("variant", "")),
                iter=int(event.get("iter") or 0),
                figure=figure,
            )
        )
    return sorted(out, key=lambda p: (p.metric, p.variant))[:most]
