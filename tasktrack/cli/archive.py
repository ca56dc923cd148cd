"""`tasktrack export` and `tasktrack import`: the log out to a file, and back into an empty DB."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from tasktrack.cli.common import database
from tasktrack.cli.progress import bar
from tasktrack.domain import seal
from tasktrack.projections import rebuild as rebuilding
from tasktrack.projections import registry, tenant_build
from tasktrack.store import archive, archive_files, distribute, migrate, privileges
from tasktrack.store.engine import raw

_KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _key(path: Path) -> bytes:
    """A signing key from a file the operator keeps (surrounding whitespace is not part of it)."""
    try:
        return seal.check_key(path.read_bytes().strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--key-file") from exc


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
@click.option(
    "--key-file",
    type=_KEY_FILE,
    help="Sign the export with this key (HMAC-SHA256; at least 32 bytes, kept by you).",
)
def export(
    since: datetime | None,
    company: str | None,
    fmt: str,
    output: Path | None,
    key_file: Path | None,
) -> None:
    """Stream the log's events in commit order (payloads byte for byte); on a log sharded by
    tenant (Citus), tenant after tenant, each in its own commit order.

    Prints the export's digest on stderr: keep it apart from the file (`import --digest`
    proves the file is this export), or sign with --key-file (`import --key-file`).
    `tasktrack import` takes back a whole export or a --company one, but not one cut by --since:
    a stream that lacks its first events has a hash chain that cannot be checked."""
    if fmt == "parquet" and output is None:
        raise click.BadParameter("parquet needs --output FILE", param_hint="--output")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a date alone (the only zoneless format): UTC
    key = _key(key_file) if key_file is not None else None
    with database() as db, db.engine.connect() as sa_conn:
        migrate.require_current(db.engine)
        # A log sharded by tenant has one commit-safe order per tenant only: its whole export
        # is its tenants' exports one after the other (store/archive.py).
        if company is None and distribute.log_is_distributed(sa_conn):
            events = archive.read_tenants(raw(sa_conn), since=since)
        else:
            events = archive.read_log(raw(sa_conn), since=since, company=company)
        try:
            if fmt == "parquet":
                assert output is not None
                written = archive_files.write_parquet(events, output, key)
            elif output is None:
                written = archive_files.write_jsonl(events, sys.stdout.buffer, key)
            else:
                with output.open("wb") as f:
                    written = archive_files.write_jsonl(events, f, key)
        except archive.ExportRefused as exc:
            click.echo(f"tasktrack: export refused: {exc}", err=True)
            sys.exit(1)
        sa_conn.rollback()
    signed = f", signed with key id {written.seal.key_id}" if written.seal else ", unsigned"
    click.echo(f"exported {written.events} events{signed}", err=True)
    click.echo(f"digest: {written.digest}", err=True)


@click.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key-file", type=_KEY_FILE, help="Check the export's signature with this key.")
@click.option("--digest", help="Check the file against the digest its export printed.")
@click.option(
    "--unsigned",
    is_flag=True,
    help="Import without checking who made the file (only the hash chains are checked).",
)
def import_(file: Path, key_file: Path | None, digest: str | None, unsigned: bool) -> None:
    """Restore an export into an empty database (chains, tenants and origin checked), then
    build the projections.

    Say how to check where the file came from: --key-file (its signature), --digest (the
    digest its export printed), or --unsigned. Every stream must be whole: a --company export
    is, an export cut by --since is refused."""
    if (key_file is not None) + (digest is not None) + unsigned != 1:
        raise click.UsageError(
            "say how to check where the export came from: exactly one of --key-file KEY, "
            "--digest sha256:…, or --unsigned (which proves nothing about its origin)"
        )
    if digest is not None and not digest.startswith(seal.DIGEST_PREFIX):
        raise click.BadParameter(
            f"a digest starts with {seal.DIGEST_PREFIX}", param_hint="--digest"
        )
    origin = archive.Origin(
        key=_key(key_file) if key_file is not None else None, digest=digest, unsigned=unsigned
    )
    with database() as db:
        migrate.require_current(db.engine)
        with db.engine.connect() as sa_conn:
            # It sets the log's position sequence and rebuilds every projection: owner's work.
            privileges.require_owner(sa_conn, "tasktrack import")
            sa_conn.rollback()
            try:
                with bar("importing events", None) as step:
                    done = archive.import_events(
                        raw(sa_conn), archive_files.read_archive(file), origin=origin, progress=step
                    )
            except archive.ImportRefused as exc:
                sa_conn.rollback()
                click.echo(f"tasktrack: import refused: {exc}", err=True)
                sys.exit(1)
        specs = list(registry.PROJECTORS)
        with db.engine.connect() as sa_conn:
            sharded = distribute.log_is_distributed(sa_conn)
            sa_conn.rollback()
        if sharded:
            # A log sharded by tenant has no whole-log replay: each tenant's projections are
            # built on its worker, in its own commit-safe order (projections/tenant_build.py).
            with bar("building projections, tenant by tenant", done.events) as step:
                tenant_build.build_tenants(db.engine, specs, progress=step)
        else:
            with bar("building projections", done.events * 2) as step:
                rebuilding.rebuild(db.engine, specs, progress=step)
    click.echo(f"imported {done.events} events from {file} and built every projection")
    for line in done.checked:
        click.echo(f"checked: {line}")
    for line in done.not_checked:
        click.echo(f"NOT checked: {line}")
