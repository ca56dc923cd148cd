"""How `tasktrack queues` and `tasktrack analytics line-waits` show their answers: rich tables."""

from __future__ import annotations

from rich import box
from rich.table import Table

from tasktrack.cli.analytics_tables import span
from tasktrack.cli.task_tables import when
from tasktrack.domain.queue_history import LineWait
from tasktrack.queries.queue_history import QueueHistory
from tasktrack.queries.queues import QueueView


def list_table(views: list[QueueView]) -> Table:
    table = Table(title=f"queues ({len(views)})", box=box.SIMPLE_HEAD)
    for column in ("id", "name", "tags", "system tags", "created (UTC)", "last update (UTC)"):
        table.add_column(column, no_wrap=column == "id")
    table.add_column("waiting", justify="right")
    for q in views:
        table.add_row(
            q.id,
            q.name,
            ", ".join(q.tags),
            ", ".join(q.system_tags),
            when(q.created),
            when(q.last_update),
            str(len(q.entries)),
        )
    return table


def entries_table(view: QueueView) -> Table:
    title = f"queue {view.name} ({view.id}): {len(view.entries)} waiting"
    table = Table(title=title, box=box.SIMPLE_HEAD, min_width=len(title) + 4)
    table.add_column("#", justify="right")
    table.add_column("task", no_wrap=True)
    table.add_column("added (UTC)")
    for i, entry in enumerate(view.entries):
        table.add_row(str(i), entry.task, when(entry.added, ms=True))
    return table


def history_table(found: QueueHistory) -> Table:
    shown = len(found.steps)
    title = f"history ({shown} of {found.total_steps} events, oldest first)"
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("at (UTC)", "by", "what", "task", "worker", "detail"):
        table.add_column(column, no_wrap=column in ("at (UTC)", "task"))
    for s in found.steps:
        table.add_row(when(s.at, ms=True), s.by, s.what, s.task or "", s.worker or "", s.detail)
    return table


def line_waits_table(rows: list[LineWait]) -> Table:
    table = Table(title=f"waits in queue lines ({len(rows)})", box=box.SIMPLE_HEAD)
    table.add_column("queue", no_wrap=True)
    table.add_column("task", no_wrap=True)
    for column in ("entered (UTC)", "by", "left (UTC)", "how", "worker"):
        table.add_column(column)
    table.add_column("wait", justify="right")
    for r in rows:
        wait = span(r.wait_seconds) if r.left_at else f"{span(r.seconds_so_far)} so far"
        table.add_row(
            r.queue,
            r.task,
            when(r.entered_at, ms=True),
            r.entered_by,
            when(r.left_at, ms=True),
            r.outcome or "(waiting)",
            r.worker or "",
            wait,
        )
    return table
