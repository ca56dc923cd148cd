"""`tasktrack analytics`: time in status per group, tasks in a status at a moment, queue waits,
and the daily activity per project (the activity_daily rollup)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from tasktrack.cli import analytics_tables as tables
from tasktrack.cli import queue_tables
from tasktrack.cli.acting import JSON_HELP, caller_of, caller_options, client_for, fail
from tasktrack.cli.task_tables import console, encode
from tasktrack.domain.errors import DomainError
from tasktrack.domain.values import STATUSES
from tasktrack.queries import analytics as analytics_queries
from tasktrack.queries.analytics import DEFAULT_LIMIT, GROUP_BY, MAX_LIMIT

TIME_HELP = "An ISO time with a zone (2026-11-28T09:00:00Z)."
DAY_HELP = "A UTC day (2026-11-28), or an ISO time with a zone (its UTC day)."


@click.group()
@caller_options
@click.pass_context
def analytics(ctx: click.Context, company: str, user: str) -> None:
    """Status analytics (docs/analytics.md), as --company and --user."""
    ctx.obj = (company, user)


@analytics.command()
@click.option("--by", "group_by", type=click.Choice(GROUP_BY), default="project", show_default=True)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--project", default=None, help="Only this project id.")
@click.option("--since", default=None, help=f"Intervals entered at or after. {TIME_HELP}")
@click.option("--until", default=None, help=f"Intervals entered before. {TIME_HELP}")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def summary(
    ctx: click.Context,
    *,
    group_by: str,
    status: str | None,
    project: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Entries and time in each status per project, type, user or UTC day entered."""
    with client_for(*caller_of(ctx)) as client:
        rows = client.status_summary(
            group_by, project=project, status=status, since=since, until=until
        )
    if as_json:
        click.echo(encode({"group_by": group_by, "summary": rows}))
    else:
        console().print(tables.summary_table(group_by, rows))


@analytics.command(name="in-status")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--at", "at_text", default=None, help=f"The moment (default: now). {TIME_HELP}")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def in_status(ctx: click.Context, status: str, at_text: str | None, as_json: bool) -> None:
    """The tasks that were in STATUS at a moment."""
    try:
        moment = datetime.now(UTC) if at_text is None else analytics_queries.moment(at_text, "at")
    except DomainError as exc:
        fail(exc.message)
    assert moment is not None
    with client_for(*caller_of(ctx)) as client:
        rows = client.tasks_in_status(status, moment)
    if as_json:
        click.echo(encode({"status": status, "at": moment, "tasks": rows}))
    else:
        console().print(tables.in_status_table(status, moment, rows))


@analytics.command(name="queue-waits")
@click.option("--project", default=None, help="Only this project id.")
@click.option("--task", default=None, help="Only this task id.")
@click.option("--since", default=None, help=f"Queued at or after. {TIME_HELP}")
@click.option("--until", default=None, help=f"Queued before. {TIME_HELP}")
@click.option("--started-only", is_flag=True, help="Only visits that went on to in_progress.")
@click.option(
    "--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, MAX_LIMIT)
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def queue_waits(
    ctx: click.Context,
    *,
    project: str | None,
    task: str | None,
    since: str | None,
    until: str | None,
    started_only: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Each visit of a task to the queue, oldest first: when queued, when it left, the wait."""
    with client_for(*caller_of(ctx)) as client:
        rows = client.queue_waits(
            task,
            project=project,
            since=since,
            until=until,
            started_only=started_only,
            limit=limit,
        )
    if as_json:
        click.echo(encode({"waits": rows}))
    else:
        console().print(tables.queue_waits_table(rows))


@analytics.command(name="line-waits")
@click.option("--queue", default=None, help="Only this queue (id or name).")
@click.option("--since", default=None, help=f"Entered the line at or after. {TIME_HELP}")
@click.option("--until", default=None, help=f"Entered the line before. {TIME_HELP}")
@click.option(
    "--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, MAX_LIMIT)
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def line_waits(
    ctx: click.Context,
    *,
    queue: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Each stay of a task in a queue's line, from the queues' streams, oldest first: how long
    it waited before it was handed out (to which worker) or removed."""
    with client_for(*caller_of(ctx)) as client:
        rows = client.queue_line_waits(queue, since=since, until=until, limit=limit)
    if as_json:
        click.echo(encode({"waits": rows}))
    else:
        console().print(queue_tables.line_waits_table(rows))


@analytics.command()
@click.option("--project", default=None, help="Only this project id.")
@click.option("--since", default=None, help=f"From this day on. {DAY_HELP}")
@click.option("--until", default=None, help=f"Up to this day, included. {DAY_HELP}")
@click.option(
    "--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, MAX_LIMIT)
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def activity(
    ctx: click.Context,
    *,
    project: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Per project and UTC day: tasks created, status changes, completions, failures and metric
    reports. From the activity_daily rollup: as fresh as the last `tasktrack projections run`."""
    with client_for(*caller_of(ctx)) as client:
        answer = client.project_activity(project, since=since, until=until, limit=limit)
    if as_json:
        click.echo(encode(answer))
    else:
        console().print(tables.activity_table(answer))
