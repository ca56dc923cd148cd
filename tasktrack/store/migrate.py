"""Schema migrations run from Python, and the refusal to run on a database that is behind."""

from __future__ import annotations

from importlib import resources

import msgspec
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from tasktrack.store import privileges

UPGRADE_COMMAND = "tasktrack db upgrade"


class SchemaBehind(RuntimeError):
    """The database is not at the latest migration; the message names the fixing command."""


class SchemaStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where a database is against the migrations this code ships."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(engine: Engine | None = None) -> Config:
    """An alembic Config pointing at tasktrack's migrations, wherever the package is installed."""
    config = Config()
    location = resources.files("tasktrack.migrations")
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "tasktrack ships no migrations"
    return head


def status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaStatus(current=current, head=head_revision())


def _run(engine: Engine, fn: str, revision: str) -> list[str]:
    config = alembic_config()
    with engine.begin() as conn:
        # Migrations are the owner's work: say so plainly instead of failing half-way (or, on
        # a current schema, pretending to succeed) as an application role.
        privileges.require_owner(conn, f"tasktrack db {fn}")
        config.attributes["connection"] = conn
        getattr(command, fn)(config, revision)
        # In the same transaction: a new table is usable by the application roles at once.
        return privileges.reapply(conn)


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Migrate up; re-grant the application roles (privileges.py). Returns their names."""
    return _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> list[str]:
    return _run(engine, "downgrade", revision)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


def require_current(engine: Engine) -> None:
    """Raise SchemaBehind unless the database is at the latest migration."""
    state = status(engine)
    if state.up_to_date:
        return
    if state.current is None:
        raise SchemaBehind(f"the database has no tasktrack schema yet: run `{UPGRADE_COMMAND}`")
    if not _known(state.current):
        raise SchemaBehind(
            f"the database schema is at revision {state.current}, which this tasktrack does not "
            "know: it was migrated by a newer version; upgrade tasktrack"
        )
    raise SchemaBehind(
        f"the database schema is at revision {state.current}, this tasktrack needs {state.head}: "
        f"run `{UPGRADE_COMMAND}`"
    )
