"""`tasktrack queues`: list the company's queues, show one with its line and its history."""

from __future__ import annotations

import click

from tasktrack.cli import queue_tables as render
from tasktrack.cli.acting import JSON_HELP, caller_of, caller_options, client_for
from tasktrack.cli.task_tables import console, encode
from tasktrack.queries.analytics import MAX_LIMIT
from tasktrack.queries.queue_history import DEFAULT_STEPS


@click.group()
@caller_options
@click.pass_context
def queues(ctx: click.Context, company: str, user: str) -> None:
    """Read queues: list, show (as --company and --user)."""
    ctx.obj = (company, user)


@queues.command(name="list")
@click.option("--name", default=None, help="Names matching this regular expression.")
@click.option("--all", "search_hidden", is_flag=True, help="Include hidden queues.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def list_(ctx: click.Context, name: str | None, search_hidden: bool, as_json: bool) -> None:
    """List the company's queues and how many tasks wait in each."""
    filters: dict[str, object] = {"search_hidden": search_hidden}
    if name is not None:
        filters["name"] = name
    with client_for(*caller_of(ctx)) as client:
        found = client.get_queues(**filters)
    if as_json:
        click.echo(encode({"queues": found}))
    else:
        console().print(render.list_table(found))


@queues.command()
@click.argument("queue")
@click.option(
    "--limit",
    default=DEFAULT_STEPS,
    show_default=True,
    type=click.IntRange(1, MAX_LIMIT),
    help="The last this many events of its history.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def show(ctx: click.Context, queue: str, limit: int, as_json: bool) -> None:
    """Show QUEUE (id or name): the tasks waiting in it, in order, and its history from the
    log: who put which task in line, moved or removed it, and which worker it was handed to."""
    with client_for(*caller_of(ctx)) as client:
        found = client.queue_history(queue, limit)
    if as_json:
        click.echo(encode(found))
        return
    out = console()
    out.print(render.entries_table(found.queue))
    out.print(render.history_table(found))
