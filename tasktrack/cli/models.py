"""`tasktrack models`: list, show and the history (every event) of models, as tables or JSON."""

from __future__ import annotations

from typing import Any

import click

from tasktrack.cli import model_tables as render
from tasktrack.cli.acting import JSON_HELP, caller_of, caller_options, client_for
from tasktrack.cli.task_tables import console, encode
from tasktrack.queries.models import MAX_PAGE_SIZE


@click.group()
@caller_options
@click.pass_context
def models(ctx: click.Context, company: str, user: str) -> None:
    """Read models: list, show, history (as --company and --user)."""
    ctx.obj = (company, user)


@models.command(name="list")
@click.option("--project", multiple=True, help="Project id, any of (repeat).")
@click.option("--name", default=None, help="Name matches this regular expression.")
@click.option("--tag", multiple=True, help="Has all of these tags; '-tag': has not (repeat).")
@click.option("--task", multiple=True, help="Made by any of these tasks (repeat).")
@click.option("--framework", multiple=True, help="Any of these frameworks (repeat).")
@click.option("--user-filter", multiple=True, help="Created by any of these users (repeat).")
@click.option(
    "--published/--unpublished",
    "ready",
    default=None,
    help="Only published (ready) models, or only the others.",
)
@click.option("--page", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--page-size", default=50, show_default=True, type=click.IntRange(1, MAX_PAGE_SIZE))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def list_(
    ctx: click.Context,
    *,
    project: tuple[str, ...],
    name: str | None,
    tag: tuple[str, ...],
    task: tuple[str, ...],
    framework: tuple[str, ...],
    user_filter: tuple[str, ...],
    ready: bool | None,
    page: int,
    page_size: int,
    as_json: bool,
) -> None:
    """List the company's models (and public ones), newest first, a page at a time: one
    models.get_all request."""
    given: dict[str, Any] = {
        "project": list(project),
        "tags": list(tag),
        "task": list(task),
        "framework": list(framework),
        "user": list(user_filter),
    }
    request: dict[str, Any] = {key: value for key, value in given.items() if value}
    if name is not None:
        request["name"] = name
    if ready is not None:
        request["ready"] = ready
    with client_for(*caller_of(ctx)) as client:
        found = client.get_models(**request, page=page, page_size=page_size)
    if as_json:
        documents = [render.model_document(v) for v in found]
        click.echo(encode({"page": page, "page_size": page_size, "models": documents}))
    else:
        console().print(render.list_table(found, page))


@models.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def show(ctx: click.Context, model: str, as_json: bool) -> None:
    """Show MODEL: its fields (uri, published, task, project, …) and metadata."""
    with client_for(*caller_of(ctx)) as client:
        view = client.get_model(model)
    if as_json:
        click.echo(encode(render.model_document(view)))
        return
    out = console()
    out.print(render.fields_table(view))
    table = render.metadata_table(view)
    if table is not None:
        out.print(table)


@models.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def history(ctx: click.Context, model: str, as_json: bool) -> None:
    """Every event of MODEL's stream, oldest first: who changed what, and when (deleted models
    too)."""
    with client_for(*caller_of(ctx)) as client:
        entries = client.model_history(model)
    if as_json:
        click.echo(encode({"model": model, "history": entries}))
    else:
        console().print(render.history_table(model, entries))
