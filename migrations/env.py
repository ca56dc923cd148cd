"""alembic environment: runs migrations on the connection tasktrack hands over, or on its URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tasktrack.store import types
from tasktrack.store.tables import metadata

config = context.config
# Autogenerate compares against the live metadata; the version scripts themselves never import it.
target_metadata = metadata


def _run(connection: Connection) -> None:
    types.register_reflection(connection.dialect)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the connection from tasktrack.store.migrate, or open one from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from tasktrack.config import load_settings
    from tasktrack.store.engine import open_database

    with open_database(load_settings()) as db, db.engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `tasktrack db upgrade`")
run_migrations_online()
