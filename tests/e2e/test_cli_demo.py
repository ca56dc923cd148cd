"""`tasktrack demo` as a new user runs it: on a database given by URL and on the embedded
server, twice each; the scenario lands in the log and the summary and timeline are printed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tasktrack.cli.demo import PROJECTS
from tasktrack.store.embedded import POSTGRES_MAJOR
from tests.e2e.cli import run
from tests.html_elements import by_class, elements

WIDE = {"COLUMNS": "200"}  # a wide terminal: rich fits tables to it, truncating cells


def _played(stdout: str) -> str:
    """The company the run played in, after checking what it printed."""
    assert "scenario played" in stdout, stdout
    assert "tasks per status per project" in stdout
    assert all(project in stdout for project in PROJECTS)
    assert "status timeline of" in stdout
    # The showcase task failed, was reset, and ran again to completion, in that order.
    timeline = stdout.split("status timeline of", 1)[1]
    steps = ["queued", "in_progress", "failed", "reset", "queued", "in_progress", "completed"]
    at = 0
    for step in steps:
        at = timeline.index(step, at) + len(step)
    # What the showcase's completed run reported besides its curves.
    reports = timeline[at:]
    for title in ("plots (3)", "single values (1)", "debug images (1)"):
        assert title in reports, reports
    for kind in ("bar", "table", "scatter", "test accuracy", "samples/batch0_0019.png"):
        assert kind in reports, kind
    return stdout.split("company ", 1)[1].split(":", 1)[0].strip()


def _showcase(stdout: str) -> str:
    """The task the demo suggests to show next."""
    line = next(line for line in stdout.splitlines() if line.startswith("next: tasktrack tasks"))
    return line.split()[-1]


def test_the_demo_runs_twice_on_a_database_given_by_url(
    new_migrated_database: Callable[[], str],
) -> None:
    url = new_migrated_database()
    companies = []
    for _ in range(2):
        result = run("demo", env={"TASKTRACK_DATABASE_URL": url, **WIDE})
        assert result.returncode == 0, result.stderr
        companies.append(_played(result.stdout))
    assert companies[0] != companies[1]
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        rows = conn.execute(
            "SELECT company, type, count(*) FROM events GROUP BY company, type"
        ).fetchall()
    per_company: dict[str, dict[str, int]] = {}
    for company, kind, count in rows:
        per_company.setdefault(company, {})[kind] = count
    assert set(per_company) == set(companies)
    for kinds in per_company.values():
        # Dozens of tasks, queued, started, failed, reset, completed, published, archived,
        # and deleted: each kind of fact is in the log, in both runs. (Not the same counts to
        # the event: a stop finds its worker live or not depending on how fast the run goes.)
        assert kinds.get("TaskCreated", 0) == 12 * len(PROJECTS)
        for kind in (
            "TaskEnqueued",
            "TaskStarted",
            "TaskFailed",
            "TaskReset",
            "TaskCompleted",
            "TaskPublished",
            "TaskArchived",
            "TaskDeleted",
        ):
            assert kinds.get(kind, 0) > 0, (kind, kinds)
        # Every run reported what a training script reports, through add_batch's command.
        assert kinds.get("TaskEventsStored", 0) > 0, kinds
        assert kinds.get("MetricsReported", 0) > 0, kinds
        assert kinds.get("TaskLogged", 0) > 0, kinds
    with psycopg.connect(libpq) as conn:
        reported = dict(
            conn.execute(
                "SELECT type, count(*) FROM task_reported_events WHERE company = %s GROUP BY type",
                (companies[1],),
            ).fetchall()
        )
        singles = conn.execute(
            "SELECT count(*) FROM task_metric_points p JOIN task_metric_series s"
            " ON s.company = p.company AND s.series_id = p.series_id"
            " WHERE p.company = %s AND p.iter = %s AND s.metric = 'test accuracy'",
            (companies[1], -(2**31)),
        ).fetchone()[0]
    assert reported["plot"] % 3 == 0  # histogram, table and curve per completed run
    assert reported["plot"] >= 3 * 10
    assert reported["training_debug_image"] > 0
    assert singles == reported["plot"] // 3  # a single value per completed run


@pytest.mark.smoke
def test_the_demo_runs_twice_on_the_embedded_server(tmp_path: Path) -> None:
    """No URL: the embedded server is created in the data directory, then reused, and stopped
    when the demo ends."""
    env = {"TASKTRACK_DATA_DIR": str(tmp_path / "data"), **WIDE}
    for _ in range(2):
        result = run("demo", env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        _played(result.stdout)
    pgdata = tmp_path / "data" / f"pg{POSTGRES_MAJOR}"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists()


def test_after_the_demo_show_and_report_have_something_to_show(
    new_migrated_database: Callable[[], str], tmp_path: Path
) -> None:
    """A newcomer's next two commands, as the demo prints them: `tasks show` lists the
    showcase's plots, and `report` with no options draws curves and plots of a demo task on a
    timeline scaled to the scenario (not to the time of the report)."""
    env = {"TASKTRACK_DATABASE_URL": new_migrated_database(), **WIDE}
    played = run("demo", env=env)
    assert played.returncode == 0, played.stderr
    company, showcase = _played(played.stdout), _showcase(played.stdout)

    shown = run("tasks", "--company", company, "show", showcase, env=env)
    assert shown.returncode == 0, shown.stderr
    for title in ("last metrics", "plots (3)", "single values (1)", "debug images (1)"):
        assert title in shown.stdout

    time.sleep(1.5)  # the report comes later than the scenario's last change
    page = tmp_path / "report.html"
    wrote = run("report", "--company", company, "-o", str(page), env=env)
    assert wrote.returncode == 0, wrote.stderr
    assert "3 plot(s)" in wrote.stdout
    html = page.read_text()
    assert "://" not in html.replace("https://files.example.com", "")  # nothing to fetch
    assert "no task chosen" not in html
    found = elements(html)
    [metrics] = [e for e in found if e.tag == "section" and e.attrs.get("id") == "metrics"]
    assert int(metrics.attrs["data-charts"]) == 2  # accuracy and loss
    assert metrics.attrs["data-plots"] == "3"
    assert len(by_class(found, "polyline", "metric-curve")) == 3
    kinds = sorted(e.attrs["data-kind"] for e in by_class(found, "figure", "plot"))
    assert kinds == ["bar", "scatter", "table"]
    assert len(by_class(found, "rect", "plot-bar")) == 9
    assert len(by_class(found, "table", "plot-table")) == 1
    [gantt] = by_class(found, "svg", "gantt")
    start, end = (datetime.fromisoformat(gantt.attrs[k]) for k in ("data-start", "data-end"))
    assert end < datetime.fromisoformat(gantt.attrs["data-now"])
    assert end - start < timedelta(seconds=30)  # the scenario's own span
    bars = by_class(found, "rect", "status-bar")
    full = 960 - 240 - 40
    widths = [float(b.attrs["width"]) for b in bars]
    assert sum(w >= full - 1 for w in widths) == 0  # no bar spans the whole chart
    assert any(b.attrs["data-cut"] == "yes" for b in bars)
