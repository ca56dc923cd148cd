"""Connecting: the configured server or the embedded one, one engine and its connection pool.

One SQLAlchemy pool of psycopg 3 connections serves both SQLAlchemy Core and the hot paths that
drop to psycopg (pipeline mode, COPY) on the *same* connection and transaction (a second pool
would split one unit of work across two connections).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from tasktrack.config import ConfigError, Settings
from tasktrack.store import embedded, types

# Connections idle longer than this are pinged before use (see _ping_if_idle).
PING_IDLE_AFTER_S = 1.0

# A transaction left open blocks commit-safe log readers (store/eventlog.py); kill idle ones.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000


class Database(msgspec.Struct, frozen=True, kw_only=True):
    """An engine and where it points (the URL without its password, for messages)."""

    engine: Engine
    url: str
    embedded: bool


def normalize_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and use the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(f"tasktrack needs a PostgreSQL URL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def make_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> Engine:
    """An engine for `url` with tasktrack's session settings on every connection."""
    engine = create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # Not SQLAlchemy's pre-ping (a round trip on every checkout, a third of a command's
        # cost): only connections idle for a while are pinged (_ping_if_idle).
        pool_pre_ping=False,
        json_serializer=_json_dumps,
        json_deserializer=msgspec.json.decode,
        connect_args={
            "application_name": "tasktrack",
            "options": (
                f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
                " -c TimeZone=UTC"
            ),
        },
        **kwargs,
    )
    types.register_reflection(engine.dialect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: psycopg.Connection[Any], _record: object) -> None:
        # jsonb read through raw psycopg (hot paths) decodes with msgspec too.
        set_json_loads(msgspec.json.decode, dbapi_connection)

    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection idle for PING_IDLE_AFTER_S before handing it out.

    A server restart or a network cut leaves dead connections in the pool; one idle for a
    while may be one, and a ping costs one round trip. One in constant use was alive a moment
    ago; if it died since, its command fails before its COMMIT was sent and the service
    retries it on a fresh connection (TaskService), and a read fails with a 503. Raising
    DisconnectionError makes the pool drop the connection and hand out a new one.
    """
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_IDLE_AFTER_S:
        return
    try:
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except psycopg.OperationalError as exc:
        raise DisconnectionError(f"dropping a dead pooled connection: {exc}") from exc


def raw(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy connection, sharing its transaction."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


@contextmanager
def open_database(settings: Settings, **engine_kwargs: Any) -> Iterator[Database]:
    """The configured server, or the embedded one (started, and stopped when the last user goes)."""
    with ExitStack() as stack:
        if settings.database_url is not None:
            url = normalize_url(settings.database_url)
            is_embedded = False
        else:
            socket_dir = stack.enter_context(embedded.embedded_server(settings.data_dir))
            embedded.ensure_database(socket_dir, embedded.DATABASE_NAME)
            url = embedded.server_uri(socket_dir, embedded.DATABASE_NAME)
            is_embedded = True
        engine = make_engine(url, pool_size=settings.pool_size, **engine_kwargs)
        stack.callback(engine.dispose)
        yield Database(
            engine=engine,
            url=make_url(url).render_as_string(hide_password=True),
            embedded=is_embedded,
        )
