"""Migrations under test: up, down to base, up again; and no drift from the metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tasktrack.store import migrate
from tasktrack.store.engine import make_engine
from tasktrack.store.tables import metadata

TABLES = {
    "events",
    "tasks",
    "task_status_history",
    "task_metrics",
    "projector_checkpoints",
    "idempotency_keys",
}


@pytest.fixture
def empty_engine(new_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(new_database(), pool_size=1)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.mark.smoke
def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    assert migrate.status(empty_engine).current is None
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) >= TABLES
    assert migrate.status(empty_engine).up_to_date

    migrate.downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    assert migrate.status(empty_engine).current is None

    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) >= TABLES
    assert migrate.status(empty_engine).up_to_date


@pytest.mark.smoke
def test_migrated_schema_has_no_drift_from_the_metadata(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_drift_is_detected(empty_engine: Engine) -> None:
    """The drift test can fail: a column the migrations lack shows up in the comparison."""
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE tasks DROP COLUMN runtime")
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert any(d[0] == "add_column" and d[3].name == "runtime" for d in diff)


def test_refuses_an_empty_or_old_database_and_names_the_fix(empty_engine: Engine) -> None:
    with pytest.raises(migrate.SchemaBehind, match="tasktrack db upgrade"):
        migrate.require_current(empty_engine)
    migrate.upgrade(empty_engine)
    migrate.require_current(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_future'")
    with pytest.raises(migrate.SchemaBehind, match="newer version"):
        migrate.require_current(empty_engine)


def test_a_checkpoint_taken_before_0022_keeps_meaning_the_whole_log(empty_engine: Engine) -> None:
    """Migration 0022 keys checkpoints by (company, name): an existing row becomes company ''
    (the whole log, checkpoints.ALL_TENANTS), read by the runner as before; downgrading keeps
    that row and drops per-tenant ones, which mean nothing for the whole log."""
    from tasktrack.domain.records import Checkpoint
    from tasktrack.projections import checkpoints
    from tasktrack.store.engine import raw

    migrate.upgrade(empty_engine, "0021_company_keys")
    with empty_engine.begin() as sa_conn:
        raw(sa_conn).execute(
            "INSERT INTO projector_checkpoints (name, tx, position, updated_at) "
            "VALUES ('activity_daily', '41'::xid8, 7, now())"
        )
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as sa_conn:
        conn = raw(sa_conn)
        assert checkpoints.read_checkpoint(conn, "activity_daily") == Checkpoint(41, 7)
        assert checkpoints.read_checkpoint(conn, "activity_daily", company="acme") == (
            Checkpoint(0, 0)
        )
        checkpoints.write_checkpoint(conn, "activity_daily", Checkpoint(50, 9), company="acme")
        assert checkpoints.tenant_checkpoints(conn, "activity_daily") == {"acme": Checkpoint(50, 9)}
        assert checkpoints.read_checkpoint(conn, "activity_daily") == Checkpoint(41, 7)
    migrate.downgrade(empty_engine, "0021_company_keys")
    with empty_engine.connect() as sa_conn:
        rows = raw(sa_conn).execute("SELECT name, position FROM projector_checkpoints").fetchall()
    assert rows == [("activity_daily", 7)]
