"""`tasktrack report`: the status timelines and metric curves of tasks as one HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from tasktrack.api import Client
from tasktrack.cli.acting import caller_options, client_for, fail
from tasktrack.cli.report_html import render
from tasktrack.cli.report_model import (
    Report,
    TaskTimeline,
    metric_charts,
    plot_figures,
    status_intervals,
)
from tasktrack.queries.tasks import MAX_PAGE_SIZE
from tasktrack.queries.views import TaskView

MAX_PLOTS = 24  # plots drawn beside the curves (the latest iteration of each, by name)


def choose(
    client: Client, task_ids: tuple[str, ...], projects: tuple[str, ...], limit: int
) -> list[TaskView]:
    """The --task tasks in the order given, then the --project tasks oldest first; with
    neither, the company's `limit` newest tasks (oldest first). Each task once."""
    views = [client.get_by_id(t) for t in task_ids]
    if projects:
        views += client.get_all(
            project=list(projects), order_by=["created"], page_size=MAX_PAGE_SIZE
        )
    if not task_ids and not projects:
        views = client.get_all(order_by=["-created"], page_size=limit)[::-1]
    unique: dict[str, TaskView] = {}
    for v in views:
        unique.setdefault(v.id, v)
    return list(unique.values())


def gather(
    client: Client, views: list[TaskView], metrics_task: str | None, now: datetime, title: str
) -> Report:
    """The report's data: each task's intervals, and the curves and plots of `metrics_task`
    (default: of the chosen tasks that reported scalars, the one updated last)."""
    timelines = [
        TaskTimeline(
            id=v.id,
            name=v.name,
            intervals=status_intervals(v.created, client.get_status_history(v.id), v.status, now),
        )
        for v in views
    ]
    chosen = metrics_task or most_recently_active(views)
    if chosen is None:
        return Report(title=title, generated=now, timelines=timelines)
    named = next((v for v in views if v.id == chosen), None) or client.get_by_id(chosen)
    return Report(
        title=title,
        generated=now,
        timelines=timelines,
        metrics_task_id=named.id,
        metrics_task_name=named.name,
        charts=metric_charts(client.get_scalar_series(named.id)),
        plots=plot_figures(client.get_task_plots(named.id), MAX_PLOTS),
    )


def most_recently_active(views: list[TaskView]) -> str | None:
    """Of the tasks that reported scalars, the one updated last (the first of equals)."""
    with_metrics = [v for v in views if v.last_metrics]
    if not with_metrics:
        return None
    return max(with_metrics, key=lambda v: v.last_update or v.created).id


@click.command()
@caller_options
@click.option("--task", "task_ids", multiple=True, help="A task to chart (repeat).")
@click.option("--project", multiple=True, help="Chart every task of this project (repeat).")
@click.option("--metrics-task", default=None, help="Whose metric curves to draw.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, MAX_PAGE_SIZE),
    help="With no --task or --project: how many of the newest tasks.",
)
@click.option("--title", default="tasktrack report", show_default=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
def report(
    *,
    company: str,
    user: str,
    task_ids: tuple[str, ...],
    project: tuple[str, ...],
    metrics_task: str | None,
    limit: int,
    title: str,
    output: Path,
) -> None:
    """Write one self-contained HTML file: a status timeline (Gantt) of the tasks, and the
    metric curves and reported plots of one of them (--metrics-task, else the task with
    metrics updated last)."""
    with client_for(company, user) as client:
        views = choose(client, task_ids, project, limit)
        data = gather(client, views, metrics_task, datetime.now(UTC), title)
    try:
        output.write_text(render(data), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    bars = sum(len(t.intervals) for t in data.timelines)
    curves = sum(len(c.curves) for c in data.charts)
    click.echo(
        f"wrote {output}: {len(data.timelines)} task(s), {bars} bar(s), {curves} curve(s), "
        f"{len(data.plots)} plot(s)"
    )
