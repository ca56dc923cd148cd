"""How `tasktrack models` and `tasks show` show models and artifacts: tables and JSON documents."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET
from rich import box
from rich.table import Table

from tasktrack.cli.task_tables import when
from tasktrack.queries.model_history import ModelHistoryEntry
from tasktrack.queries.models import ModelView
from tasktrack.queries.views import TaskView

MAX_CHANGE_TEXT = 120
MAX_ARTIFACTS = 20  # a dataset's task can hold many; --json shows them all


def model_document(view: ModelView) -> dict[str, Any]:
    """Every field of the model object (as models.get_by_id answers it), null when unset."""
    return {name: getattr(view, name) for name in ModelView.__struct_fields__}


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def list_table(views: list[ModelView], page: int) -> Table:
    table = Table(title=f"models (page {page}: {len(views)})", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("published", no_wrap=True)
    for column in ("framework", "project", "task", "user", "tags"):
        table.add_column(column)
    table.add_column("iter", justify="right")
    table.add_column("created (UTC)")
    for v in views:
        table.add_row(
            v.id,
            v.name,
            _yes(v.ready),
            v.framework or "",
            v.project or "",
            v.task or "",
            v.user,
            ", ".join(v.tags),
            "" if v.last_iteration is None else str(v.last_iteration),
            when(v.created),
        )
    return table


def fields_table(view: ModelView) -> Table:
    """The model's main fields, one per row."""
    table = Table(title=f"model {view.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("id", view.id),
        ("name", view.name),
        ("published (ready)", _yes(view.ready)),
        ("uri", view.uri or ""),
        ("framework", view.framework or ""),
        ("project", view.project or ""),
        ("task", view.task or ""),
        ("parent", view.parent or ""),
        ("user", view.user),
        ("company", view.company),
        ("tags", ", ".join(view.tags)),
        ("system tags", ", ".join(view.system_tags)),
        ("comment", view.comment),
        ("labels", ", ".join(f"{k}={v}" for k, v in sorted(view.labels.items()))),
        ("created (UTC)", when(view.created)),
        ("last update (UTC)", when(view.last_update)),
        ("last change (UTC)", when(view.last_change)),
        ("last changed by", view.last_changed_by),
        ("last iteration", "" if view.last_iteration is None else str(view.last_iteration)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def metadata_table(view: ModelView) -> Table | None:
    if not view.metadata:
        return None
    table = Table(title=f"metadata ({len(view.metadata)})", box=box.SIMPLE_HEAD)
    for column in ("key", "type", "value"):
        table.add_column(column)
    for key, item in sorted(view.metadata.items()):
        table.add_row(key, str(item.get("type") or ""), str(item.get("value") or ""))
    return table


def _changes_text(changes: dict[str, Any]) -> str:
    """`key=value` pairs, JSON values, cut at MAX_CHANGE_TEXT characters (--json has them all)."""
    text = ", ".join(
        f"{key}={msgspec.json.encode(value).decode()}" for key, value in changes.items()
    )
    return text if len(text) <= MAX_CHANGE_TEXT else text[: MAX_CHANGE_TEXT - 1] + "…"


def history_table(model: str, entries: list[ModelHistoryEntry]) -> Table:
    table = Table(title=f"history of model {model} ({len(entries)} events)", box=box.SIMPLE_HEAD)
    for column in ("version", "time (UTC)", "user", "event", "what"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for h in entries:
        table.add_row(
            str(h.version), when(h.at, ms=True), h.user, h.event, _changes_text(h.changes)
        )
    return table


# --- a task's models and artifacts (tasks show) ---------------------------------------------


def task_models(view: TaskView) -> list[tuple[str, str, str]]:
    """(input|output, entry name, model id) of every model the task names, inputs first."""
    if view.models is None:
        return []
    out: list[tuple[str, str, str]] = []
    for kind in ("input", "output"):
        items = getattr(view.models, kind)
        out += [(kind, m.name, m.model) for m in (items if items is not UNSET else [])]
    return out


def task_models_document(
    entries: list[tuple[str, str, str]], found: dict[str, ModelView]
) -> list[dict[str, Any]]:
    """Each entry with the model's own name, uri and published flag (null: the model is gone)."""
    documents = []
    for kind, name, model in entries:
        view = found.get(model)
        documents.append(
            {
                "type": kind,
                "name": name,
                "model": model,
                "model_name": view.name if view else None,
                "uri": view.uri if view else None,
                "ready": view.ready if view else None,
            }
        )
    return documents


def task_models_table(documents: list[dict[str, Any]]) -> Table | None:
    if not documents:
        return None
    table = Table(title=f"models ({len(documents)})", box=box.SIMPLE_HEAD)
    for column in ("type", "name", "model id", "model name", "published", "uri"):
        table.add_column(column)
    for d in documents:
        missing = d["model_name"] is None
        table.add_row(
            d["type"],
            d["name"],
            d["model"],
            "(not found)" if missing else d["model_name"],
            "" if missing else _yes(d["ready"]),
            d["uri"] or "",
        )
    return table


def artifacts_table(view: TaskView) -> Table | None:
    artifacts = view.execution.artifacts if view.execution is not None else []
    if not artifacts:
        return None
    table = Table(title=f"artifacts ({len(artifacts)})", box=box.SIMPLE_HEAD)
    for column in ("key", "type", "mode", "size", "uri"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for a in artifacts[:MAX_ARTIFACTS]:
        size = str(a.content_size) if a.content_size is not UNSET else ""
        table.add_row(a.key, a.type, a.mode, size, a.uri if a.uri is not UNSET else "")
    if len(artifacts) > MAX_ARTIFACTS:
        table.add_row(f"… and {len(artifacts) - MAX_ARTIFACTS} more", "", "", "", "(--json)")
    return table
