"""`tasktrack credentials`: create, list and revoke API credentials; rotate the token key."""

from __future__ import annotations

import sys

import click
import msgspec
import sqlalchemy.exc

from tasktrack.cli.common import database
from tasktrack.store import credentials as store
from tasktrack.store import migrate, privileges, signing_keys


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


@credentials.command(name="rotate-signing-key")
@click.option(
    "--drop-previous",
    is_flag=True,
    help="Delete every earlier key too: all tokens issued so far stop working (after a leak).",
)
def rotate_signing_key(drop_previous: bool) -> None:
    """Make a new key sign bearer tokens (owner only).

    Running servers sign with it within 30 s and accept its tokens at once. Tokens signed with
    an earlier key keep working until they expire (one token lifetime, 24 h), unless
    --drop-previous: then they stop within 30 s.
    """
    action = "tasktrack credentials rotate-signing-key"
    with database() as db:
        migrate.require_current(db.engine)
        try:
            with db.engine.begin() as conn:
                privileges.require_owner(conn, action)
                key = signing_keys.rotate(conn, drop_previous=drop_previous)
        except sqlalchemy.exc.IntegrityError:
            click.echo(
                f"tasktrack: another rotation ran at the same time; run {action} again", err=True
            )
            sys.exit(1)
    previous = "deleted" if drop_previous else "accepted until their tokens expire"
    created = f"{key.created_at:%Y-%m-%d %H:%M:%S%z}"
    click.echo(f"signing key {key.kid} created {created}; earlier keys {previous}")
