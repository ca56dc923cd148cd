"""Login roles of a test's own (roles are cluster-wide): an owner, an application role, cleanup."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.pgserver import libpq


class Roles(msgspec.Struct, frozen=True, kw_only=True):
    """A database owned by `owner`, and the URLs to reach it as each role."""

    owner: str
    app: str
    owner_url: str
    app_url: str
    admin_url: str  # the test server's superuser, on the same database


def as_role(url: str, role: str, password: str) -> str:
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


@contextmanager
def owner_and_app(server: str, database_url: str) -> Iterator[Roles]:
    """Give `database_url` a new owner role and make a new, bare login role beside it.

    Both get unique names and a password (so they log in whatever the server's auth method);
    afterwards their privileges are dropped, the database goes back to the superuser, and the
    roles are dropped.
    """
    suffix = uuid.uuid4().hex[:10]
    owner, app = f"tt_owner_{suffix}", f"tt_app_{suffix}"
    password = secrets.token_urlsafe(16)
    name = make_url(database_url).database
    assert name is not None
    with psycopg.connect(libpq(server), autocommit=True) as admin:
        for role in (owner, app):
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    try:
        yield Roles(
            owner=owner,
            app=app,
            owner_url=as_role(database_url, owner, password),
            app_url=as_role(database_url, app, password),
            admin_url=database_url,
        )
    finally:
        with psycopg.connect(libpq(database_url), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
                ([owner, app],),
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(name))
            )
            # Drops what they own in this database (the schema) and revokes what they were granted.
            conn.execute(
                sql.SQL("DROP OWNED BY {}, {}").format(sql.Identifier(owner), sql.Identifier(app))
            )
        with psycopg.connect(libpq(server), autocommit=True) as admin:
            for role in (app, owner):
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
