"""How `tasktrack analytics` shows its answers: rich tables (durations as d h:mm:ss)."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.table import Table

from tasktrack.cli.task_tables import when
from tasktrack.queries.activity import ProjectActivity
from tasktrack.queries.analytics_views import QueueWait, StatusSummary, TaskInStatus


def span(seconds: float | None) -> str:
    """1d 02:03:04.5 / 02:03:04.5 / 4.500s; empty for None."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.3f}s"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs + (seconds - whole):04.1f}"
    return f"{days}d {text}" if days else text


def summary_table(group_by: str, rows: list[StatusSummary]) -> Table:
    table = Table(title=f"time in status by {group_by} ({len(rows)} rows)", box=box.SIMPLE_HEAD)
    table.add_column(group_by)
    table.add_column("status", no_wrap=True)
    for column in ("entries", "open", "time (closed)", "mean", "max", "time so far"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            "(none)" if r.group is None else r.group,
            r.status,
            str(r.entries),
            str(r.open_entries),
            span(r.seconds),
            span(r.mean_seconds),
            span(r.max_seconds),
            span(r.seconds_so_far),
        )
    return table


def in_status_table(status: str, at: datetime, rows: list[TaskInStatus]) -> Table:
    title = f"tasks {status} at {when(at, ms=True)} UTC ({len(rows)})"
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("task", no_wrap=True)
    for column in ("project", "type", "user", "entered (UTC)", "left (UTC)"):
        table.add_column(column)
    table.add_column("in status for", justify="right")
    for r in rows:
        table.add_row(
            r.task_id,
            r.project or "",
            r.type,
            r.user_id,
            when(r.entered_at, ms=True),
            when(r.left_at, ms=True),
            span((at - r.entered_at).total_seconds()),
        )
    return table


def queue_waits_table(rows: list[QueueWait]) -> Table:
    table = Table(title=f"queue waits ({len(rows)})", box=box.SIMPLE_HEAD)
    table.add_column("task", no_wrap=True)
    for column in ("project", "type", "user", "queued (UTC)", "left (UTC)", "then"):
        table.add_column(column)
    table.add_column("time in queue", justify="right")
    for r in rows:
        wait = span(r.seconds) if r.left_at else f"{span(r.seconds_so_far)} so far"
        table.add_row(
            r.task_id,
            r.project or "",
            r.type,
            r.user_id,
            when(r.queued_at, ms=True),
            when(r.left_at, ms=True),
            r.next_status or "(waiting)",
            wait,
        )
    return table


def freshness(answer: ProjectActivity) -> str:
    """Where the rollup has got to, and what is not in it yet."""
    if answer.applied_at is None:
        applied = "the projector has never run"
    else:
        applied = (
            f"as of log position {answer.as_of_position} (applied {when(answer.applied_at)} UTC)"
        )
    if not answer.pending_events:
        return f"{applied}; caught up with this company's events"
    more = "+" if answer.pending_capped else ""
    oldest = when(answer.oldest_pending_at)
    return (
        f"{applied}; {answer.pending_events}{more} events of this company not in it yet "
        f"(oldest {oldest} UTC): run `tasktrack projections run`"
    )


def activity_table(answer: ProjectActivity) -> Table:
    rows = answer.days
    table = Table(
        title=f"activity per project and UTC day ({len(rows)} rows)",
        caption=freshness(answer),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("day", no_wrap=True)
    table.add_column("project")
    for column in ("created", "status changes", "completed", "failed", "reports", "points"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r.day.isoformat(),
            "(none)" if r.project is None else r.project,
            str(r.tasks_created),
            str(r.status_changes),
            str(r.completed),
            str(r.failed),
            str(r.metric_reports),
            str(r.metric_points),
        )
    return table
