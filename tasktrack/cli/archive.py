"""`tasktrack export` and `tasktrack import`: the log out to a file, and back into an empty DB."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from tasktrack.cli.common import database
from tasktrack.cli.progress import bar
from tasktrack.projections import rebuild as rebuilding
from tasktrack.projections import registry
from tasktrack.store import archive, migrate, privileges
from tasktrack.store.engine import raw


@click.command(name="export")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    help="Only events recorded at or after this time (a date alone: midnight UTC). `import` "
    "refuses such an export if it starts a stream part-way.",
)
@click.option(
    "--company",
    help="Only this company's events (whole streams: `import` takes such an export back).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "parquet"]), default="jsonl", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout, jsonl only).",
)
def export(since: datetime | None, company: str | None, fmt: str, output: Path | None) -> None:
    """Stream the log's events in commit order (payloads byte for byte).

    `tasktrack import` takes back a whole export or a --company one, but not one cut by --since:
    a stream that lacks its first events has a hash chain that cannot be checked."""
    if fmt == "parquet" and output is None:
        raise click.BadParameter("parquet needs --output FILE", param_hint="--output")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a date alone (the only zoneless format): UTC
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        events = archive.read_log(raw(sa_conn), since=since, company=company)
        if fmt == "parquet":
            assert output is not None
            count = archive.write_parquet(events, output)
        elif output is None:
            count = archive.write_jsonl(events, sys.stdout.buffer)
        else:
            with output.open("wb") as f:
                count = archive.write_jsonl(events, f)
        sa_conn.rollback()
    click.echo(f"exported {count} events", err=True)


@click.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Restore an export into an empty database (hashes verified), then build the projections.

    Every stream must be whole: a --company export is, an export cut by --since is refused."""
    with database() as db:
        migrate.require_current(db.engine)
        with db.engine.connect() as sa_conn:
            # It sets the log's position sequence and rebuilds every projection: owner's work.
            privileges.require_owner(sa_conn, "tasktrack import")
            sa_conn.rollback()
            try:
                with bar("importing events", None) as step:
                    count = archive.import_events(raw(sa_conn), archive.read_archive(file), step)
            except archive.ImportRefused as exc:
                sa_conn.rollback()
                click.echo(f"tasktrack: import refused: {exc}", err=True)
                sys.exit(1)
        specs = list(registry.PROJECTORS)
        with bar("building projections", count * 2) as step:
            rebuilding.rebuild(db.engine, specs, progress=step)
    click.echo(f"imported {count} events from {file} and built every projection")
