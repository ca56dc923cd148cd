"""What every CLI command shares: settings, the database, turning errors into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from tasktrack.config import ConfigError, Settings, load_settings
from tasktrack.store.engine import Database, open_database


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def database() -> Iterator[Database]:
    """The configured database (the embedded server when TASKTRACK_DATABASE_URL is unset)."""
    current = settings()
    if current.embedded:
        click.echo(f"using the embedded PostgreSQL in {current.data_dir}", err=True)
    with open_database(current) as db:
        yield db
