"""Where tests get PostgreSQL: a URL, else a testcontainers server, else the embedded one."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from tasktrack.store import embedded

ENV_TEST_URL = "TASKTRACK_TEST_DATABASE_URL"


def docker_answers() -> bool:
    """True when a Docker engine responds (the client alone is not enough)."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def server_url() -> Iterator[tuple[str, str]]:
    """Yield (URL of a maintenance database on some server, where it came from)."""
    url = os.environ.get(ENV_TEST_URL)
    if url:
        yield url, f"{ENV_TEST_URL}"
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url(), "testcontainers"
        return
    with (
        tempfile.TemporaryDirectory(prefix="tasktrack-test-pg-") as tmp,
        embedded.embedded_server(Path(tmp), delete_on_exit=True) as socket_dir,
    ):
        yield embedded.server_uri(socket_dir, "postgres"), "embedded"


def libpq(url: str | URL) -> str:
    """The URL as libpq (psycopg) takes it: the embedded server's has a driver name and a
    socket directory for `host`."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(server: str, prefix: str = "tt_test", template: str | None = None) -> str:
    """Create a fresh database on `server` (empty, or a copy of `template`); return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute(statement)
    return with_database(server, name)


def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    assert name is not None
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
