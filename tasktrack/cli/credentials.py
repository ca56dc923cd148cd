"""`tasktrack credentials`: create, list and revoke API credentials."""

from __future__ import annotations

import sys

import click
import msgspec

from tasktrack.cli.common import database
from tasktrack.store import credentials as store
from tasktrack.store import migrate


@click.group()
def credentials() -> None:
    """API credentials (access key and secret) for HTTP clients."""


@credentials.command()
@click.option("--company", required=True, help="The tenant the credential acts for.")
@click.option("--user", required=True, help="The user the credential acts as.")
def create(company: str, user: str) -> None:
    """Create a credential and print it as JSON (the secret is shown only this once)."""
    if not company.strip() or not user.strip():
        raise click.BadParameter("company and user must not be empty")
    with database() as db:
        migrate.require_current(db.engine)
        with db.engine.begin() as conn:
            new = store.create(conn, company.strip(), user.strip())
    click.echo(msgspec.json.encode(new).decode())


@credentials.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(as_json: bool) -> None:
    """List credentials (never their secrets)."""
    with database() as db:
        migrate.require_current(db.engine)
        with db.engine.connect() as conn:
            found = store.list_all(conn)
    for cred in found:
        if as_json:
            click.echo(msgspec.json.encode(cred).decode())
        else:
            state = f"revoked {cred.revoked_at:%Y-%m-%d %H:%M}" if cred.revoked_at else "active"
            click.echo(f"{cred.access_key}  {cred.company}  {cred.user}  {state}")


@credentials.command()
@click.argument("access_key")
def revoke(access_key: str) -> None:
    """Revoke the credential ACCESS_KEY (its tokens stop working too)."""
    with database() as db:
        migrate.require_current(db.engine)
        with db.engine.begin() as conn:
            done = store.revoke(conn, access_key)
    if not done:
        click.echo(f"tasktrack: no active credential {access_key}", err=True)
        sys.exit(1)
    click.echo(f"revoked {access_key}")
