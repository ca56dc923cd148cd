"""The `tasktrack` entry point: one group, one subcommand module per area."""

from __future__ import annotations

import logging
import sys

import click
import psycopg
import sqlalchemy.exc

from tasktrack.cli.analytics import analytics
from tasktrack.cli.archive import export, import_
from tasktrack.cli.audit import audit
from tasktrack.cli.credentials import credentials
from tasktrack.cli.db import db
from tasktrack.cli.demo import demo
from tasktrack.cli.files import files
from tasktrack.cli.models import models
from tasktrack.cli.projections import projections
from tasktrack.cli.queues import queues
from tasktrack.cli.report import report
from tasktrack.cli.serve import serve
from tasktrack.cli.tasks import tasks
from tasktrack.config import ConfigError
from tasktrack.store.migrate import SchemaBehind
from tasktrack.store.privileges import BadGrantee, NotOwner


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what tasktrack does.")
@click.version_option(package_name="tasktrack")
def cli(verbose: bool) -> None:
    """tasktrack: event-sourced task tracking on PostgreSQL, speaking ClearML's tasks API."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)


cli.add_command(db)
cli.add_command(demo)
cli.add_command(serve)
cli.add_command(credentials)
cli.add_command(tasks)
cli.add_command(analytics)
cli.add_command(report)
cli.add_command(projections)
cli.add_command(audit)
cli.add_command(export)
cli.add_command(import_)
cli.add_command(models)
cli.add_command(files)
cli.add_command(queues)


def main() -> None:
    """Run the CLI; expected failures become one line on stderr and exit status 1."""
    try:
        cli()
    except (ConfigError, SchemaBehind, NotOwner, BadGrantee) as exc:
        click.echo(f"tasktrack: {exc}", err=True)
        sys.exit(1)
    except (sqlalchemy.exc.ProgrammingError, psycopg.errors.InsufficientPrivilege) as exc:
        # An application role attempting an owner's work (docs/reliability.md).
        cause = getattr(exc, "orig", exc)
        if not isinstance(cause, psycopg.errors.InsufficientPrivilege):
            raise
        reason = str(cause).strip().splitlines()[0]
        click.echo(
            f"tasktrack: {reason}: this needs the schema owner's role, not the application "
            "role (docs/reliability.md, Least privilege)",
            err=True,
        )
        sys.exit(1)
    except (sqlalchemy.exc.OperationalError, psycopg.OperationalError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        click.echo(f"tasktrack: cannot use the database: {reason}", err=True)
        sys.exit(1)
