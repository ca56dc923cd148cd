"""`tasktrack report` for real tasks, read back as HTML without a browser: the defaults choose
tasks with something to show, the reported plots sit beside the curves, the file is offline.
(test_report_browser.py checks the same pages as headless Chromium lays them out.)"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from tasktrack.api import Client
from tests.e2e.test_report_browser import plots, report, scalars, three_tasks
from tests.html_elements import by_class, elements


def test_with_no_options_the_report_draws_the_latest_active_tasks_curves_and_plots(
    client: Client, cli_database: str, company: str, tmp_path: Path
) -> None:
    done, failed, draft = three_tasks(client)
    client.add_events(plots(done))
    # Another task reported scalars earlier; `done` is the one updated last.
    early = str(client.create(name="early", type="training", project="rp")["id"])
    client.add_events(scalars(early, "loss", "train", [3.0, 2.0]))
    client.add_events(scalars(done, "loss", "train", [0.2]))  # done: active again, last
    out = tmp_path / "defaults.html"
    result = report(cli_database, company, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "4 task(s)" in result.stdout
    assert "3 plot(s)" in result.stdout
    html = out.read_text()
    assert "://" not in html  # nothing to fetch: no CDN, no script
    found = elements(html)
    assert not [e for e in found if e.tag in ("script", "link", "img", "iframe")]

    [metrics] = [e for e in found if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert metrics.attrs["data-task-id"] == done
    assert (metrics.attrs["data-charts"], metrics.attrs["data-plots"]) == ("2", "3")
    figures = [e for e in found if e.tag == "figure"]
    # The curves first, then the plots, in one row of charts.
    assert [f.attrs["class"] for f in figures] == ["metric", "metric", "plot", "plot", "plot"]
    kinds = [f.attrs.get("data-kind") for f in figures[2:]]
    assert kinds == ["table", "scatter", "bar"]  # by metric and variant
    assert [f.attrs["data-iter"] for f in figures[2:]] == ["4", "4", "4"]
    heights = [float(r.attrs["height"]) for r in by_class(found, "rect", "plot-bar")]
    assert heights.index(max(heights)) == 1  # y = 2, 9, 3
    [table] = by_class(found, "table", "plot-table")
    assert table.attrs["data-rows"] == "2"
    assert "<td>cat</td><td>0.9</td>" in html
    [line] = by_class(found, "polyline", "plot-line")
    assert line.attrs["data-points"] == "3"

    rows = by_class(found, "g", "task-row")
    assert [r.attrs["data-task-id"] for r in rows] == [done, failed, draft, early]


def test_the_timeline_is_scaled_to_the_changes_when_the_report_comes_long_after(
    client: Client, cli_database: str, company: str, tmp_path: Path
) -> None:
    """The tasks changed within a fraction of a second, and the report starts a second or so
    later (a new process): the chart covers the changes, the bars still open are cut at its
    edge instead of every bar spanning the whole chart."""
    done, failed, draft = three_tasks(client)
    views = [client.get_by_id(t) for t in (done, failed, draft)]
    changes = [h.at for v in views for h in client.get_status_history(v.id)]
    first = min(v.created for v in views)
    last = max(changes + [v.created for v in views])
    time.sleep((last - first).total_seconds() + 0.1)  # now: over a span after the last change
    out = tmp_path / "scaled.html"
    result = report(cli_database, company, "-o", str(out))
    assert result.returncode == 0, result.stderr
    found = elements(out.read_text())
    [gantt] = by_class(found, "svg", "gantt")
    start, end, now = (
        datetime.fromisoformat(gantt.attrs[k]) for k in ("data-start", "data-end", "data-now")
    )
    assert start == first
    expected = last + max((last - first) / 10, timedelta(milliseconds=1))
    assert abs(end - expected) <= timedelta(microseconds=2)  # a tenth of the span past it
    assert end < now
    bars = by_class(found, "rect", "status-bar")
    cut = [b.attrs["data-task-id"] for b in bars if b.attrs["data-cut"] == "yes"]
    assert sorted(cut) == sorted([done, failed, draft])  # each task's open interval
    full = 960 - 240 - 40
    assert all(float(b.attrs["width"]) < full for b in bars)
    assert len(by_class(found, "polygon", "runs-on")) == 3
