"""How `tasktrack tasks` shows tasks: rich tables for people, JSON documents for scripts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec import UNSET
from rich import box
from rich.console import Console
from rich.table import Table

from tasktrack.queries.views import StatusHistoryEntry, TaskView

MAX_PARAMS = 20
PIPE_WIDTH = 200


def console() -> Console:
    """A terminal's own width; into a pipe or file, wide rows (COLUMNS if set) so that a line
    stays one task for grep."""
    found = Console()
    if found.is_terminal or "COLUMNS" in os.environ:
        return found
    return Console(width=PIPE_WIDTH)


def when(moment: datetime | None, ms: bool = False) -> str:
    if moment is None:
        return ""
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if ms else text[:-7]


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


# --- JSON ----------------------------------------------------------------------------------


def task_document(view: TaskView) -> dict[str, Any]:
    """Every field of the task object (as tasks.get_by_id answers it), null when unset: the
    same keys whatever the task."""
    return {name: getattr(view, name) for name in TaskView.__struct_fields__}


def history_document(entry: StatusHistoryEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in StatusHistoryEntry.__struct_fields__}


def encode(document: object) -> str:
    return msgspec.json.encode(document).decode()


# --- tables ---------------------------------------------------------------------------------


def list_table(views: list[TaskView], page: int) -> Table:
    table = Table(title=f"tasks (page {page}: {len(views)})", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("status", no_wrap=True)
    for column in ("type", "project", "user", "tags"):
        table.add_column(column)
    table.add_column("iter", justify="right")
    table.add_column("created (UTC)")
    for v in views:
        table.add_row(
            v.id,
            v.name,
            v.status,
            v.type,
            v.project or "",
            v.user,
            ", ".join(v.tags),
            "" if v.last_iteration is None else str(v.last_iteration),
            when(v.created),
        )
    return table


def _queue(view: TaskView) -> str:
    if view.execution is None or view.execution.queue is UNSET:
        return ""
    return str(view.execution.queue)


def fields_table(view: TaskView, as_of: str | None) -> Table:
    """The task's main fields, one per row."""
    title = f"task {view.name}" + (f" as of {as_of}" if as_of else "")
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    status = view.status + (f" ({view.status_reason})" if view.status_reason else "")
    rows = [
        ("id", view.id),
        ("name", view.name),
        ("status", status),
        ("status message", view.status_message or ""),
        ("type", view.type),
        ("project", view.project or ""),
        ("user", view.user),
        ("tags", ", ".join(view.tags)),
        ("system tags", ", ".join(view.system_tags)),
        ("queue", _queue(view)),
        ("parent", view.parent or ""),
        ("comment", view.comment or ""),
        ("created (UTC)", when(view.created)),
        ("started (UTC)", when(view.started)),
        ("completed (UTC)", when(view.completed)),
        ("status changed (UTC)", when(view.status_changed)),
        ("last update (UTC)", when(view.last_update)),
        ("last worker", view.last_worker or ""),
        ("last iteration", "" if view.last_iteration is None else str(view.last_iteration)),
        ("version", "" if view.stream_version is None else str(view.stream_version)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def params_table(view: TaskView) -> Table | None:
    """Hyperparameters as section/name = value (the first MAX_PARAMS of them)."""
    items = [
        (f"{section}/{name}", "" if item.value is UNSET else str(item.value))
        for section, params in sorted((view.hyperparams or {}).items())
        for name, item in sorted(params.items())
    ]
    if not items:
        return None
    table = Table(title=f"hyperparameters ({len(items)})", box=box.SIMPLE_HEAD)
    table.add_column("section/name")
    table.add_column("value")
    for key, value in items[:MAX_PARAMS]:
        table.add_row(key, value)
    if len(items) > MAX_PARAMS:
        table.add_row(f"… and {len(items) - MAX_PARAMS} more", "(--json shows all)")
    return table


def metrics_table(view: TaskView) -> Table | None:
    """last_metrics: one row per (metric, variant), by name."""
    events = [e for variants in (view.last_metrics or {}).values() for e in variants.values()]
    if not events:
        return None
    table = Table(title="last metrics", box=box.SIMPLE_HEAD)
    for column in ("metric", "variant"):
        table.add_column(column)
    for column in ("last", "min", "max", "count"):
        table.add_column(column, justify="right")
    for e in sorted(events, key=lambda e: (e.metric, e.variant)):
        table.add_row(
            e.metric,
            e.variant,
            number(e.value),
            number(e.min_value),
            number(e.max_value),
            str(e.count),
        )
    return table


def history_table(task: TaskView, entries: list[StatusHistoryEntry]) -> Table:
    table = Table(title=f"status history of {task.name} ({task.id})", box=box.SIMPLE_HEAD)
    for column in ("version", "time (UTC)", "user", "from → to", "reason", "message", "force"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for h in entries:
        table.add_row(
            str(h.version),
            when(h.at, ms=True),
            h.user,
            f"{h.from_status} → {h.to_status}",
            h.reason,
            h.message,
            "yes" if h.force else "",
        )
    return table
