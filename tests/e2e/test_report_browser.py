"""`tasktrack report` for real tasks, loaded in headless Chromium: the charts are in the DOM.

They need a Chromium (`chromium`, `chromium-browser` or `google-chrome` on PATH). CI installs
Debian's `chromium` and, with `CI` set, a missing browser fails these tests; on a developer's
machine without one (the README's fresh machine has only Python) they are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tasktrack.api import Client
from tests.e2e.cli import run
from tests.html_elements import Element, by_class, elements, pairs

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# Appended to a copy of the report: record what the browser actually laid out.
MEASURE = """<script>
for (const r of document.querySelectorAll("rect.status-bar"))
  r.setAttribute("data-rendered-width", r.getBoundingClientRect().width.toFixed(2));
for (const p of document.querySelectorAll("polyline.metric-curve, polyline.plot-line"))
  p.setAttribute("data-rendered-length", p.getTotalLength().toFixed(2));
document.documentElement.setAttribute("data-measured", "yes");
</script>"""


def chromium_dom(page: Path, tmp_path: Path) -> str:
    """The DOM headless Chromium builds from `page` (with MEASURE run in it)."""
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        missing = f"no Chromium on PATH ({', '.join(BROWSERS)}): apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            measured.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-measured="yes"' in result.stdout, result.stdout[:2000]
    return result.stdout


def report(database: str, company: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run("report", "--company", company, *args, env={"TASKTRACK_DATABASE_URL": database})


def scalars(task: str, metric: str, variant: str, values: list[float]) -> list[dict[str, Any]]:
    return [
        {
            "task": task,
            "type": "training_stats_scalar",
            "metric": metric,
            "variant": variant,
            "value": v,
            "iter": 10 * i,
        }
        for i, v in enumerate(values)
    ]


def three_tasks(client: Client) -> tuple[str, str, str]:
    """A completed run with metrics, a failed run that was reset, and a draft."""
    done = str(client.create(name="run <done> & dusted", type="training", project="rp")["id"])
    client.enqueue(task=done, queue_name="gpu")
    client.started(task=done)
    client.add_events(
        scalars(done, "loss", "train", [1.0, 0.6, 0.4, 0.3, 0.25])
        + scalars(done, "loss", "val", [1.1, 0.7, 0.5, 0.45, 0.44])
        + scalars(done, "accuracy", "val", [0.5, 0.7, 0.8])
    )
    client.completed(task=done)
    failed = str(client.create(name="crashy", type="training", project="rp")["id"])
    client.enqueue(task=failed, queue_name="gpu")
    client.started(task=failed)
    client.failed(task=failed, status_reason="exception")
    client.reset(task=failed)
    draft = str(client.create(name="draft", type="testing", project="rp")["id"])
    return done, failed, draft


def plots(task: str) -> list[dict[str, Any]]:
    """A histogram, a table and a line plot, as ClearML's SDK reports them (plotly JSON)."""
    figures = {
        ("weights", "conv1"): {"data": [{"type": "bar", "x": [-1, 0, 1], "y": [2, 9, 3]}]},
        ("eval", "per class"): {
            "data": [
                {
                    "type": "table",
                    "header": {"values": ["class", "score"]},
                    "cells": {"values": [["cat", "dog"], [0.9, 0.7]]},
                }
            ]
        },
        ("eval", "roc"): {
            "data": [{"type": "scatter", "mode": "lines", "x": [0, 0.5, 1], "y": [0, 0.8, 1]}]
        },
    }
    return [
        {
            "task": task,
            "type": "plot",
            "metric": metric,
            "variant": variant,
            "iter": 4,
            "plot_str": json.dumps(figure),
        }
        for (metric, variant), figure in figures.items()
    ]


def bars_of(dom: list[Element], task: str) -> list[Element]:
    return [b for b in by_class(dom, "rect", "status-bar") if b.attrs["data-task-id"] == task]


def test_the_report_draws_a_row_per_task_a_bar_per_interval_and_the_curves(
    client: Client, cli_database: str, company: str, tmp_path: Path
) -> None:
    done, failed, draft = three_tasks(client)
    out = tmp_path / "report.html"
    result = report(
        cli_database, company, "--task", done, "--task", failed, "--task", draft, "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "3 task(s), 10 bar(s), 3 curve(s)" in result.stdout
    assert "://" not in out.read_text()  # nothing to fetch: the file is all there is

    dom = elements(chromium_dom(out, tmp_path))

    rows = by_class(dom, "g", "task-row")
    assert [r.attrs["data-task-id"] for r in rows] == [done, failed, draft]
    expected = {
        done: ["created", "queued", "in_progress", "completed"],
        failed: ["created", "queued", "in_progress", "failed", "created"],
        draft: ["created"],
    }
    for task, statuses in expected.items():
        bars = bars_of(dom, task)
        assert [b.attrs["data-status"] for b in bars] == statuses
        history = client.get_status_history(task)
        assert [int(b.attrs["data-version"]) for b in bars] == [1] + [h.version for h in history]
        view = client.get_by_id(task)
        assert datetime.fromisoformat(bars[0].attrs["data-start"]) == view.created
        starts = [datetime.fromisoformat(b.attrs["data-start"]) for b in bars[1:]]
        assert starts == [h.at for h in history]
        ends = [b.attrs["data-end"] for b in bars]
        assert ends[:-1] == [b.attrs["data-start"] for b in bars[1:]]  # [entered, left)
        xs = [float(b.attrs["x"]) for b in bars]
        assert xs == sorted(xs)
        assert all(float(b.attrs["data-rendered-width"]) >= 1 for b in bars)
    [gantt] = by_class(dom, "svg", "gantt")
    # The last bars run to now: to the chart's end, or (the chart scaled to the changes when
    # the report came long after them) cut at its edge.
    assert all(bars_of(dom, t)[-1].attrs["data-end"] == gantt.attrs["data-now"] for t in expected)
    assert gantt.attrs["data-end"] <= gantt.attrs["data-now"]
    legend = [e.attrs["data-status"] for e in dom if e.tag == "li" and "data-status" in e.attrs]
    assert legend == ["created", "queued", "in_progress", "failed", "completed"]
    assert int(by_class(dom, "g", "time-axis")[0].attrs["data-ticks"]) >= 1

    [metrics] = [e for e in dom if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert metrics.attrs["data-task-id"] == done  # the first chosen task that has metrics
    charts = by_class(dom, "svg", "metric-chart")
    assert [c.attrs["data-metric"] for c in charts] == ["accuracy", "loss"]
    curves = {
        (p.attrs["data-metric"], p.attrs["data-variant"]): p
        for p in by_class(dom, "polyline", "metric-curve")
    }
    assert {k: int(p.attrs["data-points"]) for k, p in curves.items()} == {
        ("accuracy", "val"): 3,
        ("loss", "train"): 5,
        ("loss", "val"): 5,
    }
    for curve in curves.values():
        points = pairs(curve.attrs["points"])
        assert len(points) == int(curve.attrs["data-points"])
        assert [x for x, _ in points] == sorted(x for x, _ in points)
        assert float(curve.attrs["data-rendered-length"]) > 0
    train = pairs(curves[("loss", "train")].attrs["points"])
    assert [y for _, y in train] == sorted(y for _, y in train)  # loss falls: y px grows


def test_a_project_report_with_another_tasks_metrics(
    client: Client, cli_database: str, company: str, tmp_path: Path
) -> None:
    done, failed, draft = three_tasks(client)
    client.add_events(scalars(failed, "loss", "train", [2.0, 1.0]))
    out = tmp_path / "project.html"
    result = report(
        cli_database, company, "--project", "rp", "--metrics-task", failed, "-o", str(out)
    )
    assert result.returncode == 0, result.stderr

    dom = elements(chromium_dom(out, tmp_path))
    rows = by_class(dom, "g", "task-row")
    assert [r.attrs["data-task-id"] for r in rows] == [done, failed, draft]  # oldest first
    assert [r.attrs["data-bars"] for r in rows] == ["4", "5", "1"]
    [metrics] = [e for e in dom if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert metrics.attrs["data-task-id"] == failed
    [curve] = by_class(dom, "polyline", "metric-curve")
    assert (curve.attrs["data-variant"], curve.attrs["data-points"]) == ("train", "2")


def test_the_reported_plots_are_drawn_beside_the_curves(
    client: Client, cli_database: str, company: str, tmp_path: Path
) -> None:
    done, _, _ = three_tasks(client)
    client.add_events(plots(done))
    out = tmp_path / "plots.html"
    result = report(cli_database, company, "-o", str(out))  # no options: the defaults
    assert result.returncode == 0, result.stderr

    dom = elements(chromium_dom(out, tmp_path))
    [metrics] = [e for e in dom if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert metrics.attrs["data-task-id"] == done
    kinds = [e.attrs["data-kind"] for e in by_class(dom, "figure", "plot")]
    assert kinds == ["table", "scatter", "bar"]  # by metric and variant
    assert len(by_class(dom, "rect", "plot-bar")) == 3
    [line] = by_class(dom, "polyline", "plot-line")
    assert float(line.attrs["data-rendered-length"]) > 0


def test_an_unknown_task_is_exit_1_and_writes_nothing(
    cli_database: str, company: str, tmp_path: Path
) -> None:
    out = tmp_path / "nothing.html"
    result = report(cli_database, company, "--task", "nope", "-o", str(out))
    assert result.returncode == 1
    assert "no such task: nope" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
