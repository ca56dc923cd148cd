"""The HTML report as a pure function: intervals, bar and polyline geometry, escaping."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from tasktrack.cli.report_axes import nice_ticks, time_label, time_ticks
from tasktrack.cli.report_html import render
from tasktrack.cli.report_model import (
    Curve,
    Interval,
    MetricChart,
    Report,
    TaskTimeline,
    metric_charts,
    status_intervals,
)
from tasktrack.domain.values import Status
from tasktrack.queries.metrics import SeriesView
from tasktrack.queries.views import StatusHistoryEntry
from tests.html_elements import by_class, elements, pairs

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def change(version: int, seconds: float, from_: Status, to: Status) -> StatusHistoryEntry:
    return StatusHistoryEntry(
        version=version,
        position=version,
        from_status=from_,
        to_status=to,
        reason="",
        message="",
        user="u",
        at=at(seconds),
        force=False,
    )


HISTORY = [
    change(2, 10, "created", "queued"),
    change(3, 60, "queued", "in_progress"),
]


def test_intervals_start_at_creation_follow_each_change_and_end_now() -> None:
    got = status_intervals(at(0), HISTORY, "in_progress", at(100))
    assert got == [
        Interval(status="created", start=at(0), end=at(10), version=1),
        Interval(status="queued", start=at(10), end=at(60), version=2),
        Interval(status="in_progress", start=at(60), end=at(100), version=3),
    ]


def test_a_task_that_never_changed_is_one_interval_in_its_status() -> None:
    got = status_intervals(at(5), [], "created", at(7))
    assert got == [Interval(status="created", start=at(5), end=at(7), version=1)]


def test_an_interval_never_ends_before_it_starts() -> None:
    got = status_intervals(at(0), HISTORY, "in_progress", at(30))  # "now" behind the last change
    assert got[-1].start == at(60)
    assert got[-1].end == at(60)


def _report(timelines: list[TaskTimeline], charts: list[MetricChart] | None = None) -> Report:
    return Report(
        title="t",
        generated=at(100),
        timelines=timelines,
        metrics_task_id="m1" if charts is not None else None,
        metrics_task_name="metrics task",
        charts=charts or [],
    )


def test_bars_are_placed_on_the_time_axis_one_row_per_task() -> None:
    rows = [
        TaskTimeline(
            id="a", name="A", intervals=status_intervals(at(0), HISTORY, "in_progress", at(100))
        ),
        TaskTimeline(id="b", name="B", intervals=status_intervals(at(50), [], "created", at(100))),
        TaskTimeline(
            id="c",
            name="C",
            intervals=status_intervals(
                at(20), [change(2, 20.001, "created", "queued")], "queued", at(100)
            ),
        ),
    ]
    page = render(_report(rows))
    groups = by_class(page, "g", "task-row")
    assert [(g.attrs["data-task-id"], g.attrs["data-bars"]) for g in groups] == [
        ("a", "3"),
        ("b", "1"),
        ("c", "2"),
    ]
    bars = [
        (
            b.attrs["data-task-id"],
            b.attrs["data-status"],
            b.attrs["data-version"],
            float(b.attrs["x"]),
            float(b.attrs["y"]),
            float(b.attrs["width"]),
        )
        for b in by_class(page, "rect", "status-bar")
    ]
    # The plot runs from x=240 to x=920 (680 px) over 100 s; rows are 28 px apart from y=13.
    assert bars == [
        ("a", "created", "1", 240.0, 13.0, 68.0),
        ("a", "queued", "2", 308.0, 13.0, 340.0),
        ("a", "in_progress", "3", 648.0, 13.0, 272.0),
        ("b", "created", "1", 580.0, 41.0, 340.0),
        ("c", "created", "1", 376.0, 69.0, 1.0),  # 1 ms: drawn 1 px wide to stay visible
        ("c", "queued", "2", 376.01, 69.0, 543.99),
    ]
    first = by_class(page, "rect", "status-bar")[0]
    assert first.attrs["data-start"] == "2025-03-01T12:00:00+00:00"
    assert first.attrs["data-end"] == "2025-03-01T12:00:10+00:00"
    legend = [e.attrs["data-status"] for e in elements(page) if e.tag == "li"]
    assert legend == ["created", "queued", "in_progress"]  # lifecycle order, only those used
    assert by_class(page, "g", "time-axis")[0].attrs["data-ticks"] != "0"


def test_a_curve_is_a_polyline_through_its_points_on_round_axes() -> None:
    series = {
        "loss": {
            "train": SeriesView(
                name="train", x=[0, 10, 20], y=[0.0, 0.5, 1.0], timestamps=[1, 2, 3]
            )
        }
    }
    page = render(_report([], metric_charts(series)))
    [line] = by_class(page, "polyline", "metric-curve")
    assert line.attrs["data-metric"] == "loss"
    assert line.attrs["data-variant"] == "train"
    assert line.attrs["data-points"] == "3"
    # x 0..20 maps to 72..624 px, y 0..1 to 272..16 px (up is smaller).
    assert pairs(line.attrs["points"]) == [(72.0, 272.0), (348.0, 144.0), (624.0, 16.0)]
    x_ticks = [e for e in elements(page) if "x-tick" in e.classes]
    assert len(x_ticks) == 5  # 0, 5, 10, 15, 20


def test_variants_share_a_chart_and_non_finite_values_are_left_out() -> None:
    chart = MetricChart(
        metric="acc",
        curves=[
            Curve(variant="train", x=[0, 1, 2], y=[1.0, math.nan, 3.0]),
            Curve(variant="val", x=[0, 2], y=[2.0, math.inf]),
        ],
    )
    page = render(_report([], [chart]))
    assert len(by_class(page, "svg", "metric-chart")) == 1
    train, val = by_class(page, "polyline", "metric-curve")
    assert (train.attrs["data-points"], train.attrs["data-skipped"]) == ("2", "1")
    assert (val.attrs["data-points"], val.attrs["data-skipped"]) == ("1", "1")
    assert len(pairs(train.attrs["points"])) == 2
    assert train.attrs["stroke"] != val.attrs["stroke"]


def test_every_user_string_is_escaped() -> None:
    name = '<script>alert("name")</script>'
    task_id = "id\"'<&>"
    metric = "<img src=x onerror=alert(1)>"
    variant = 'v&"<b>'
    rows = [
        TaskTimeline(id=task_id, name=name, intervals=status_intervals(at(0), [], "created", at(1)))
    ]
    chart = MetricChart(metric=metric, curves=[Curve(variant=variant, x=[1], y=[2.0])])
    report = Report(
        title="<h1>title</h1>",
        generated=at(2),
        timelines=rows,
        metrics_task_id=task_id,
        metrics_task_name=name,
        charts=[chart],
    )
    page = render(report)
    for raw in (name, task_id, metric, variant, "<h1>title</h1>", "<script", "<img", "<b>"):
        assert raw not in page
    found = elements(page)
    assert not [e for e in found if e.tag in ("script", "img", "b")]
    assert [e.tag for e in found].count("h1") == 1
    assert by_class(found, "g", "task-row")[0].attrs["data-task-id"] == task_id
    assert by_class(found, "polyline", "metric-curve")[0].attrs["data-variant"] == variant
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page


def test_the_page_loads_nothing_from_anywhere() -> None:
    rows = [
        TaskTimeline(
            id="a", name="A", intervals=status_intervals(at(0), HISTORY, "in_progress", at(100))
        )
    ]
    chart = MetricChart(metric="m", curves=[Curve(variant="v", x=[0, 1], y=[0.0, 1.0])])
    page = render(_report(rows, [chart]))
    assert "://" not in page
    assert not [e for e in elements(page) if e.tag in ("link", "script", "img", "iframe")]
    assert not [e for e in elements(page) if "src" in e.attrs or "href" in e.attrs]
    assert page.startswith("<!DOCTYPE html>")


def test_round_ticks_cover_the_data() -> None:
    assert nice_ticks(0, 0.95) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 3) == [2.6, 2.8, 3.0, 3.2, 3.4]  # a flat series gets a band around it
    assert nice_ticks(-7, 12) == [-10.0, -5.0, 0.0, 5.0, 10.0, 15.0]


def test_time_ticks_are_round_times_inside_the_window() -> None:
    ticks, step = time_ticks(at(0.5), at(10.5))
    assert step == 2
    assert ticks == [at(2), at(4), at(6), at(8), at(10)]
    assert time_label(ticks[0], step) == "12:00:02"
    short, short_step = time_ticks(at(0), at(0.004))
    assert short_step == 0.001
    assert time_label(short[1], short_step) == "12:00:00.001"


def test_a_scenario_played_in_a_second_is_charted_over_its_second_not_until_now() -> None:
    """Reported a minute after a one-second run, the chart ends a tenth of a second after the
    last change; the bars still open are cut at the edge with an arrow, not stretched."""
    fast = [change(2, 0.2, "created", "queued"), change(3, 1.0, "queued", "in_progress")]
    rows = [
        TaskTimeline(
            id="a", name="A", intervals=status_intervals(at(0), fast, "in_progress", at(60))
        ),
        TaskTimeline(id="b", name="B", intervals=status_intervals(at(0.5), [], "created", at(60))),
    ]
    page = render(Report(title="t", generated=at(60), timelines=rows))
    [gantt] = by_class(page, "svg", "gantt")
    assert gantt.attrs["data-end"] == at(1.1).isoformat()
    assert gantt.attrs["data-now"] == at(60).isoformat()
    bars = by_class(page, "rect", "status-bar")
    widths = [float(b.attrs["width"]) for b in bars]
    # 680 px over 1.1 s: created 0-0.2 s, queued 0.2-1 s, in_progress 1-1.1 s (cut), B from 0.5.
    assert widths == [123.64, 494.55, 61.82, 370.91]
    assert [b.attrs["data-cut"] for b in bars] == ["no", "no", "yes", "yes"]
    assert all(float(b.attrs["x"]) + float(b.attrs["width"]) <= 920.01 for b in bars)
    assert bars[2].attrs["data-end"] == at(60).isoformat()  # the data says "until now"
    assert len(by_class(page, "polygon", "runs-on")) == 2


def test_the_chart_runs_to_now_while_now_is_within_a_span_of_the_changes() -> None:
    rows = [
        TaskTimeline(
            id="a", name="A", intervals=status_intervals(at(0), HISTORY, "in_progress", at(100))
        )
    ]
    page = render(Report(title="t", generated=at(100), timelines=rows))
    assert by_class(page, "svg", "gantt")[0].attrs["data-end"] == at(100).isoformat()
    assert not by_class(page, "polygon", "runs-on")
