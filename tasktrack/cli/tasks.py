"""`tasktrack tasks`: list, show and the status history of tasks, as tables or JSON."""

from __future__ import annotations

import json
from typing import Any, get_args

import click
from msgspec import structs

from tasktrack.cli import model_tables, reported_tables
from tasktrack.cli import task_tables as render
from tasktrack.cli.acting import JSON_HELP, caller_of, caller_options, client_for, fail
from tasktrack.domain.values import STATUSES, TaskType
from tasktrack.queries.filter_request import METRIC_PREFIX
from tasktrack.queries.tasks import MAX_PAGE_SIZE, GetAllRequest


@click.group()
@caller_options
@click.pass_context
def tasks(ctx: click.Context, company: str, user: str) -> None:
    """Read tasks: list, show, history (as --company and --user)."""
    ctx.obj = (company, user)


# get_all keys the command sets itself: paging, and whole tasks (it prints every field).
OWN_KEYS = {
    "page": "use --page",
    "page_size": "use --page-size",
    "only_fields": "tasks list prints whole tasks",
}
FILTER_KEYS = frozenset(
    {f.encode_name for f in structs.fields(GetAllRequest)} - {"last_metrics", *OWN_KEYS}
)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # NaN and Infinity stay strings


def parse_filters(given: tuple[str, ...]) -> dict[str, Any]:
    """`--filter KEY=VALUE` options as get_all request keys: VALUE is read as JSON when it parses
    (`[5, null]`, `true`, `"42"`), else taken as a string (`^res`, `created`).

    Refused with one line and exit 1: no `=`, a key get_all does not have (a typo would
    otherwise be ignored, as get_all ignores unknown keys), one of OWN_KEYS, a key given twice.
    """
    out: dict[str, Any] = {}
    for item in given:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"--filter {item!r}: expected KEY=VALUE, e.g. 'last_iteration=[5, null]'")
        if key in OWN_KEYS:
            fail(f"--filter {key}: not a filter here, {OWN_KEYS[key]}")
        if key not in FILTER_KEYS and not key.startswith(METRIC_PREFIX):
            known = ", ".join(sorted(FILTER_KEYS))
            fail(f"--filter {key}: not a get_all filter (one of {known}, last_metrics.*)")
        if key in out:
            fail(f"--filter {key}: given twice")
        try:
            out[key] = json.loads(text, parse_constant=_not_json)
        except ValueError:
            out[key] = text
    return out


@tasks.command(name="list")
@click.option("--status", multiple=True, type=click.Choice(STATUSES), help="Any of (repeat).")
@click.option("--project", multiple=True, help="Project id, any of (repeat).")
@click.option("--tag", multiple=True, help="Has any of these tags (repeat).")
@click.option("--type", "type_", multiple=True, type=click.Choice(get_args(TaskType)))
@click.option("--user-filter", multiple=True, help="Created by any of these users (repeat).")
@click.option("--id", "ids", multiple=True, help="Only these task ids (repeat).")
@click.option("--search", default=None, help="Id, name or comment contains this text (any case).")
@click.option(
    "--filter",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any get_all filter; VALUE is JSON, else a string (repeat): 'last_iteration=[5, null]'",
)
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
    extra: tuple[str, ...],
    order_by: tuple[str, ...],
    page: int,
    page_size: int,
    search_hidden: bool,
    as_json: bool,
) -> None:
    """List the company's tasks (newest first unless --order-by), a page at a time.

    Every option becomes a key of one tasks.get_all request (SEMANTICS §5); --filter adds any
    other key of it (ranges, `__$` tokens, regular expressions, last_metrics.*).
    """
    options: dict[str, tuple[Any, str]] = {
        "status": (list(status), "--status"),
        "project": (list(project), "--project"),
        "tags": (list(tag), "--tag"),
        "type": (list(type_), "--type"),
        "user": (list(user_filter), "--user-filter"),
        "id": (list(ids), "--id"),
        "order_by": (list(order_by), "--order-by"),
        "search_text": (search, "--search"),
        "search_hidden": (search_hidden, "--all"),
    }
    request: dict[str, Any] = {"order_by": ["-created"]}
    request |= {key: value for key, (value, _) in options.items() if value}
    for key, value in parse_filters(extra).items():
        if options.get(key, (None, ""))[0]:
            fail(f"--filter {key}: already given by {options[key][1]}")
        request[key] = value
    with client_for(*caller_of(ctx)) as client:
        found = client.get_all(**request, page=page, page_size=page_size)
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
    """Show TASK: its fields, hyperparameters, last metrics, its input and output models and
    artifacts, and the plots, single values and debug images it reported (--as-of: the task as
    it was then, without its reports; the models it named then, as they are now)."""
    with client_for(*caller_of(ctx)) as client:
        view = client.get_by_id(task, as_of=as_of)
        found = None if as_of else client.get_reported_summary(view.id)
        entries = model_tables.task_models(view)
        ids = sorted({model for _, _, model in entries})
        named = {m.id: m for m in client.get_models(id=ids)} if ids else {}
    linked = model_tables.task_models_document(entries, named)
    if as_json:
        reports = None if found is None else reported_tables.document(found)
        document = {**render.task_document(view), "reported": reports, "model_entries": linked}
        click.echo(render.encode(document))
        return
    console = render.console()
    console.print(render.fields_table(view, as_of))
    tables = (
        render.params_table(view),
        render.metrics_table(view),
        model_tables.task_models_table(linked),
        model_tables.artifacts_table(view),
    )
    for table in tables:
        if table is not None:
            console.print(table)
    for table in reported_tables.tables(found) if found is not None else []:
        console.print(table)


@tasks.command()
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def history(ctx: click.Context, task: str, as_json: bool) -> None:
    """The status timeline of TASK: every change, oldest first."""
    with client_for(*caller_of(ctx)) as client:
        view = client.get_by_id(task)
        entries = client.get_status_history(task)
    if as_json:
        documents = [render.history_document(h) for h in entries]
        click.echo(render.encode({"task": view.id, "history": documents}))
    else:
        render.console().print(render.history_table(view, entries))
