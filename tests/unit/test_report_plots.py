"""The report's reported plots: plotly figures drawn as SVG or HTML tables, offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tasktrack.cli.report import most_recently_active
from tasktrack.cli.report_html import render
from tasktrack.cli.report_model import Curve, MetricChart, PlotFigure, Report, plot_figures
from tasktrack.cli.report_plots import plot_html
from tasktrack.queries.reported_summary import plot_kind
from tasktrack.queries.views import LastMetricsEvent, TaskView
from tests.html_elements import by_class, elements, pairs


def plot(figure: dict[str, Any], metric: str = "m", variant: str = "v") -> PlotFigure:
    return PlotFigure(metric=metric, variant=variant, iter=7, figure=figure)


def test_a_bar_trace_is_a_rect_per_value_as_high_as_its_value() -> None:
    html = plot_html(plot({"data": [{"type": "bar", "x": ["a", "b", "c"], "y": [1, 4, 2]}]}))
    [figure] = by_class(html, "figure", "plot")
    assert (figure.attrs["data-kind"], figure.attrs["data-iter"]) == ("bar", "7")
    rects = by_class(html, "rect", "plot-bar")
    heights = [float(r.attrs["height"]) for r in rects]
    assert len(heights) == 3
    # y 0..4 onto 256..12 px: 61 px per unit.
    assert heights == [61.0, 244.0, 122.0]
    xs = [float(r.attrs["x"]) for r in rects]
    assert xs == sorted(xs)


def test_a_histogram_trace_is_binned_into_bars() -> None:
    html = plot_html(plot({"data": [{"type": "histogram", "x": [0, 0, 0, 1, 2, 10]}]}))
    rects = by_class(html, "rect", "plot-bar")
    assert len(rects) == 20
    heights = [float(r.attrs["height"]) for r in rects]
    assert heights[0] == pytest.approx(
        3 * heights[2], abs=0.02
    )  # bins of 0.5: 0 three times, then 1, 2 and 10 once
    assert [i for i, h in enumerate(heights) if h > 0] == [0, 2, 4, 19]


def test_scatter_traces_are_lines_or_markers_by_their_mode() -> None:
    figure = {
        "data": [
            {"type": "scatter", "mode": "lines", "name": "pr", "x": [0, 0.5, 1], "y": [1, 0.8, 0]},
            {"mode": "markers", "name": "pts", "x": [0, 1], "y": [0.5, float("nan")]},
        ],
        "layout": {"title": {"text": "precision/recall"}},
    }
    html = plot_html(plot(figure))
    [line] = by_class(html, "polyline", "plot-line")
    assert line.attrs["data-points"] == "3"
    points = pairs(line.attrs["points"])
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert [y for _, y in points] == sorted(y for _, y in points)  # falling: y px grows
    assert len(by_class(html, "circle", "plot-marker")) == 1  # NaN has no place
    assert "precision/recall" in html


def test_a_table_trace_is_an_html_table_of_its_columns() -> None:
    figure = {
        "data": [
            {
                "type": "table",
                "header": {"values": ["class", "score"]},
                "cells": {"values": [["cat", "<dog>"], [0.9, 0.8]]},
            }
        ]
    }
    html = plot_html(plot(figure))
    [table] = by_class(html, "table", "plot-table")
    assert table.attrs["data-rows"] == "2"
    assert "<th>class</th><th>score</th>" in html
    assert "<tr><td>cat</td><td>0.9</td></tr><tr><td>&lt;dog&gt;</td><td>0.8</td></tr>" in html


def test_a_heatmap_is_a_cell_per_value() -> None:
    html = plot_html(plot({"data": [{"type": "heatmap", "z": [[1, 2], [3, 4], [5, 6]]}]}))
    cells = by_class(html, "rect", "plot-cell")
    assert len(cells) == 6
    opacities = [float(c.attrs["fill-opacity"]) for c in cells]
    assert opacities[0] == min(opacities)
    assert opacities[-1] == max(opacities)


def test_a_figure_it_cannot_draw_says_so() -> None:
    html = plot_html(plot({"data": [{"type": "pie", "values": [1, 2]}]}))
    assert "a pie figure: not drawn in this report" in html
    assert not [e for e in elements(html) if e.tag == "svg"]


def test_plots_sit_beside_the_curves_and_strings_are_escaped() -> None:
    chart = MetricChart(metric="loss", curves=[Curve(variant="train", x=[0, 1], y=[1.0, 0.5])])
    figure = {"data": [{"type": "bar", "name": "<b>", "x": ["<i>"], "y": [1]}]}
    report = Report(
        title="t",
        generated=datetime(2025, 1, 1, tzinfo=UTC),
        timelines=[],
        metrics_task_id="t1",
        metrics_task_name="run",
        charts=[chart],
        plots=[plot(figure, metric="<script>", variant="x")],
    )
    page = render(report)
    found = elements(page)
    tags = [(e.tag, e.attrs.get("class", "")) for e in found]
    at = tags.index(("div", "charts"))
    assert ("figure", "metric") in tags[at:]
    assert tags.index(("figure", "plot")) > tags.index(("figure", "metric")) > at
    [section] = [e for e in found if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert (section.attrs["data-charts"], section.attrs["data-plots"]) == ("1", "1")
    for raw in ("<script", "<b>", "<i>"):
        assert raw not in page
    assert "://" not in page


def test_plot_figures_decode_sort_limit_and_skip_what_is_not_a_figure() -> None:
    answer = {
        "plots": [
            {"metric": "z", "variant": "v", "iter": 3, "plot_str": json.dumps({"data": []})},
            {"metric": "a", "variant": "v", "iter": 1, "plot_str": "not json"},
            {"metric": "a", "variant": "w", "iter": 2, "plot_str": "[1, 2]"},
            {"metric": "b", "variant": "v", "iter": 5, "plot_str": '{"data": [{"y": [1]}]}'},
        ]
    }
    got = plot_figures(answer, most=10)
    assert [(p.metric, p.iter) for p in got] == [("b", 5), ("z", 3)]
    assert [p.metric for p in plot_figures(answer, most=1)] == ["b"]


def test_the_kind_of_a_plot_is_its_first_traces_type() -> None:
    assert plot_kind('{"data": [{"type": "bar"}, {"type": "scatter"}]}') == "bar"
    assert plot_kind('{"data": [{"y": [1]}]}') == "scatter"  # plotly's default
    assert plot_kind("nope") == ""
    assert plot_kind('{"data": []}') == ""


def view(task: str, updated: int | None, metrics: bool) -> TaskView:
    last = {"m": {"v": LastMetricsEvent(metric="m", variant="v", value=1.0)}} if metrics else None
    return TaskView(
        id=task,
        name=task,
        user="u",
        company="c",
        type="training",
        status="completed",
        created=datetime(2025, 1, 1, tzinfo=UTC),
        tags=[],
        system_tags=[],
        last_update=None if updated is None else datetime(2025, 1, updated, tzinfo=UTC),
        last_metrics=last,
    )


def test_the_default_metrics_task_is_the_one_with_scalars_updated_last() -> None:
    views = [view("old", 2, True), view("newest", 9, False), view("new", 5, True)]
    assert most_recently_active(views) == "new"
    assert most_recently_active([view("never", None, True)]) == "never"
    assert most_recently_active([view("none", 3, False)]) is None
