"""`tasktrack db` as a user drives it: check refuses a database that is behind, upgrade fixes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cli import run


def test_check_names_the_fix_then_upgrade_makes_it_pass(new_database: Callable[[], str]) -> None:
    env = {"TASKTRACK_DATABASE_URL": new_database()}
    behind = run("db", "check", env=env)
    assert behind.returncode == 1
    assert "run `tasktrack db upgrade`" in behind.stderr

    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema empty -> " in upgraded.stdout

    current = run("db", "check", env=env)
    assert current.returncode == 0, current.stderr
    assert "schema is current" in current.stdout


def test_a_bad_url_is_a_clear_error_not_a_traceback() -> None:
    result = run("db", "check", env={"TASKTRACK_DATABASE_URL": "mysql://nope/db"})
    assert result.returncode != 0
    assert "PostgreSQL URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.smoke
def test_embedded_server_is_created_then_reused(tmp_path: Path) -> None:
    env = {"TASKTRACK_DATA_DIR": str(tmp_path / "data")}
    first = run("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "using the embedded PostgreSQL" in first.stderr
    assert (tmp_path / "data" / "pg18" / "PG_VERSION").exists()

    again = run("db", "check", env=env)
    assert again.returncode == 0, again.stderr
    assert "schema is current" in again.stdout  # same data directory, same database, migrated


def test_distribute_refuses_a_plain_postgresql_with_a_clear_message(
    new_migrated_database: Callable[[], str],
) -> None:
    result = run("db", "distribute", env={"TASKTRACK_DATABASE_URL": new_migrated_database()})
    assert result.returncode == 1
    assert "no citus extension" in result.stderr
    assert "Traceback" not in result.stderr
