"""`tasktrack db`: migrate the schema, check that it is current, grant the application role,
shard it on Citus."""

from __future__ import annotations

import sys

import click

from tasktrack.cli.common import database
from tasktrack.projections import distributing
from tasktrack.store import distribute as layout_apply
from tasktrack.store import migrate, privileges


@click.group()
def db() -> None:
    """Database schema: upgrade, check, status; the application role's grants."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (or to --revision)."""
    with database() as current:
        before = migrate.status(current.engine)
        roles = migrate.upgrade(current.engine, revision)
        after = migrate.status(current.engine)
    click.echo(f"{current.url}: schema {before.current or 'empty'} -> {after.current}")
    if roles:
        click.echo(f"privileges re-applied to the application roles: {', '.join(roles)}")


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
        with current.engine.connect() as conn:
            owner = privileges.schema_owner(conn)
            roles = privileges.app_roles(conn)
    click.echo(f"database: {current.url}")
    click.echo(f"current:  {state.current or '(empty)'}")
    click.echo(f"latest:   {state.head}")
    click.echo(f"owner:    {owner or '(none)'}")
    click.echo(f"app roles: {', '.join(roles) or '(none)'}")


@db.command()
@click.argument("role")
def grant(role: str) -> None:
    """Make ROLE an application role: exactly what the service needs (run as the owner).

    ROLE must exist. It may append to the log and read it, never change or remove events, and
    owns nothing; `tasktrack db upgrade` re-applies the grants after every migration.
    """
    with database() as current:
        migrate.require_current(current.engine)
        granted = privileges.grant(current.engine, role)
        with current.engine.connect() as conn:
            may_create = privileges.may_create(conn, role)
    for g in granted:
        click.echo(f"{g.relation}: {', '.join(g.privileges)}")
    click.echo(f"{current.url}: {role} is an application role ({len(granted)} relations)")
    if may_create:
        click.echo(
            f"tasktrack: warning: {role} may still create objects in the schema (PUBLIC may, "
            "before PostgreSQL 15): run REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            err=True,
        )


@db.command()
@click.argument("role")
def revoke(role: str) -> None:
    """Take every privilege on tasktrack's tables and views away from ROLE (run as the owner)."""
    with database() as current, current.engine.begin() as conn:
        privileges.require_owner(conn, "`tasktrack db revoke`")
        privileges.revoke(conn, role)
    click.echo(f"{current.url}: {role} holds no privileges on tasktrack's relations any more")


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


@db.command()
def distribute() -> None:
    """Shard a migrated database on a Citus coordinator by tenant (store/layout.py).

    Every growing table is distributed by `company`, co-located with the log; the small global
    ones become reference tables. Run it once after `tasktrack db upgrade`, as the schema's
    owner, with every writer and runner stopped (refused while another client is connected);
    a database that already holds a log keeps every event, row and catch-up checkpoint (made
    per tenant). Running it again finishes an interrupted run. Refused on a plain PostgreSQL.
    """
    with database() as current:
        migrate.require_current(current.engine)
        with current.engine.connect() as conn:
            privileges.require_owner(conn, "`tasktrack db distribute`")
        try:
            done = distributing.distribute_database(current.engine)
        except (
            layout_apply.NotCitus,
            layout_apply.Unclassified,
            distributing.NotSafeToDistribute,
        ) as exc:
            click.echo(f"tasktrack: {current.url}: {exc}", err=True)
            sys.exit(1)
    for p in done.placed:
        click.echo(f"{p.table}: {p.place}{'' if p.changed else ' (already)'}")
    if done.caught_up:
        click.echo(f"catch-up projectors caught up first: {done.caught_up} events applied")
    if done.top_tx:
        click.echo(f"workers' transaction counters past the copied log's tx {done.top_tx}")
    for name in done.converted:
        click.echo(f"{name}: the whole log's checkpoint made one per tenant")
    click.echo(
        f"{current.url}: distributed by company ({len(done.placed)} tables placed, "
        f"{done.events} events, {done.seconds:.1f} s)"
    )
