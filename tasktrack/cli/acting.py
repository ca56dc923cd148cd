"""Read commands act for a company and user: their options, the client, and refusals as exits."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from tasktrack.api import DEFAULT_COMPANY, DEFAULT_USER, Client, connect
from tasktrack.domain.errors import DomainError, TaskNotFound
from tasktrack.service.core import DatabaseUnavailable

F = TypeVar("F", bound=Callable[..., Any])


def _not_blank(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():
        raise click.BadParameter("must not be empty", param=param)
    return value.strip()


JSON_HELP = "Print one JSON document instead of a table."


def caller_of(ctx: click.Context) -> tuple[str, str]:
    """The (company, user) a command group stored for its subcommands."""
    company, user = ctx.find_object(tuple) or ("", "")
    return str(company), str(user)


def caller_options(command: F) -> F:
    """--company and --user: whose tasks to read, and as whom."""
    command = click.option(
        "--user",
        default=DEFAULT_USER,
        show_default=True,
        callback=_not_blank,
        help="The user to act as.",
    )(command)
    return click.option(
        "--company",
        default=DEFAULT_COMPANY,
        show_default=True,
        callback=_not_blank,
        help="The company (tenant) whose tasks to read.",
    )(command)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 1 (what every expected refusal becomes)."""
    click.echo(f"tasktrack: {message}", err=True)
    sys.exit(1)


@contextmanager
def client_for(company: str, user: str) -> Iterator[Client]:
    """A client on the configured database; refusals (unknown task, bad filter) exit 1."""
    try:
        with connect(company=company, user=user) as client:
            yield client
    except TaskNotFound as exc:
        fail(f"no such task: {exc.data.get('id', '')}")
    except DomainError as exc:
        fail(exc.message)
    except DatabaseUnavailable as exc:
        fail(str(exc))
