"""`tasktrack tasks`: list, show and the status history of tasks, as tables or JSON."""

from __future__ import annotations

from typing import Any, get_args

import click

from tasktrack.api import Client
from tasktrack.cli import task_tables as render
from tasktrack.cli.acting import caller_options, client_for
from tasktrack.domain.values import STATUSES, TaskType
from tasktrack.queries.tasks import MAX_PAGE_SIZE
from tasktrack.queries.views import TaskView

JSON_HELP = "Print one JSON document instead of a table."


@click.group()
@caller_options
@click.pass_context
def tasks(ctx: click.Context, company: str, user: str) -> None:
    """Read tasks: list, show, history (as --company and --user)."""
    ctx.obj = (company, user)


def _caller(ctx: click.Context) -> tuple[str, str]:
    company, user = ctx.find_object(tuple) or ("", "")
    return str(company), str(user)


def _matches(view: TaskView, needle: str) -> bool:
    return any(needle in (text or "").casefold() for text in (view.id, view.name, view.comment))


def search_tasks(
    client: Client, filters: dict[str, Any], text: str, page: int, page_size: int
) -> list[TaskView]:
    """The page of tasks matching `filters` whose id, name or comment contains `text` (any case).

    get_all has no text search yet, so every matching task is read and the page cut here.
    """
    needle = text.casefold()
    found: list[TaskView] = []
    batch_page = 0
    while True:
        batch = client.get_all(**filters, page=batch_page, page_size=MAX_PAGE_SIZE)
        found.extend(v for v in batch if _matches(v, needle))
        if len(batch) < MAX_PAGE_SIZE:
            return found[page * page_size : (page + 1) * page_size]
        batch_page += 1


@tasks.command(name="list")
@click.option("--status", multiple=True, type=click.Choice(STATUSES), help="Any of (repeat).")
@click.option("--project", multiple=True, help="Project id, any of (repeat).")
@click.option("--tag", multiple=True, help="Has any of these tags (repeat).")
@click.option("--type", "type_", multiple=True, type=click.Choice(get_args(TaskType)))
@click.option("--user-filter", multiple=True, help="Created by any of these users (repeat).")
@click.option("--id", "ids", multiple=True, help="Only these task ids (repeat).")
@click.option("--search", default=None, help="Id, name or comment contains this text.")
@click.option(
    "--order-by", multiple=True, help="A field, '-' first for descending (repeat): -created."
)
@click.option("--page", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--page-size", default=50, show_default=True, type=click.IntRange(1, MAX_PAGE_SIZE))
@click.option("--all", "search_hidden", is_flag=True, help="Include hidden tasks.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def list_(
    ctx: click.Context,
    *,
    status: tuple[str, ...],
    project: tuple[str, ...],
    tag: tuple[str, ...],
    type_: tuple[str, ...],
    user_filter: tuple[str, ...],
    ids: tuple[str, ...],
    search: str | None,
    order_by: tuple[str, ...],
    page: int,
    page_size: int,
    search_hidden: bool,
    as_json: bool,
) -> None:
    """List the company's tasks (newest first unless --order-by), a page at a time."""
    given = {
        "status": status,
        "project": project,
        "tags": tag,
        "type": type_,
        "user": user_filter,
        "id": ids,
    }
    filters: dict[str, Any] = {k: list(v) for k, v in given.items() if v}
    filters["order_by"] = list(order_by) or ["-created"]
    filters["search_hidden"] = search_hidden
    with client_for(*_caller(ctx)) as client:
        if search is not None:
            found = search_tasks(client, filters, search, page, page_size)
        else:
            found = client.get_all(**filters, page=page, page_size=page_size)
    if as_json:
        documents = [render.task_document(v) for v in found]
        click.echo(render.encode({"page": page, "page_size": page_size, "tasks": documents}))
    else:
        render.console().print(render.list_table(found, page))


@tasks.command()
@click.argument("task")
@click.option("--as-of", default=None, help="A stream version (3) or an ISO time with a zone.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def show(ctx: click.Context, task: str, as_of: str | None, as_json: bool) -> None:
    """Show TASK: its fields, hyperparameters and last metrics (--as-of: as it was then)."""
    with client_for(*_caller(ctx)) as client:
        view = client.get_by_id(task, as_of=as_of)
    if as_json:
        click.echo(render.encode(render.task_document(view)))
        return
    console = render.console()
    console.print(render.fields_table(view, as_of))
    for table in (render.params_table(view), render.metrics_table(view)):
        if table is not None:
            console.print(table)


@tasks.command()
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def history(ctx: click.Context, task: str, as_json: bool) -> None:
    """The status timeline of TASK: every change, oldest first."""
    with client_for(*_caller(ctx)) as client:
        view = client.get_by_id(task)
        entries = client.get_status_history(task)
    if as_json:
        documents = [render.history_document(h) for h in entries]
        click.echo(render.encode({"task": view.id, "history": documents}))
    else:
        render.console().print(render.history_table(view, entries))
