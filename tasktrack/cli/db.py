"""`tasktrack db`: migrate the schema, and check that it is current."""

from __future__ import annotations

import sys

import click

from tasktrack.cli.common import database
from tasktrack.store import migrate


@click.group()
def db() -> None:
    """Database schema: upgrade, check, status."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (or to --revision)."""
    with database() as current:
        before = migrate.status(current.engine)
        migrate.upgrade(current.engine, revision)
        after = migrate.status(current.engine)
    click.echo(f"{current.url}: schema {before.current or 'empty'} -> {after.current}")


@db.command()
def check() -> None:
    """Exit 0 if the schema is current, else 1 with the command that fixes it."""
    with database() as current:
        try:
            migrate.require_current(current.engine)
        except migrate.SchemaBehind as exc:
            click.echo(f"{current.url}: {exc}", err=True)
            sys.exit(1)
        click.echo(f"{current.url}: schema is current ({migrate.head_revision()})")


@db.command()
def status() -> None:
    """Show the database's schema revision and the latest one."""
    with database() as current:
        state = migrate.status(current.engine)
    click.echo(f"database: {current.url}")
    click.echo(f"current:  {state.current or '(empty)'}")
    click.echo(f"latest:   {state.head}")


@db.command()
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade(revision: str, yes: bool) -> None:
    """Migrate down to REVISION ('base' drops everything, the log included)."""
    if not yes:
        click.confirm(f"downgrade to {revision}? tables may be dropped with their data", abort=True)
    with database() as current:
        migrate.downgrade(current.engine, revision)
        click.echo(f"{current.url}: schema now {migrate.status(current.engine).current or 'empty'}")
