"""Shared fixtures: one PostgreSQL server per test session, a migrated database on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.projections import rebuild, registry
from tasktrack.store import migrate
from tasktrack.store.engine import make_engine
from tests import citus, pgserver


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A maintenance-database URL on the session's server (see tests/pgserver.py)."""
    with pgserver.server_url() as (url, origin):
        print(f"\ntests use PostgreSQL from {origin}")
        yield url


@pytest.fixture(scope="session")
def new_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty databases on the session's server, all dropped at the end."""
    made: list[str] = []

    def make() -> str:
        url = pgserver.create_database(pg_server)
        made.append(url)
        return url

    yield make
    for url in made:
        pgserver.drop_database(pg_server, url)


@pytest.fixture(scope="session")
def new_migrated_database(new_database: Callable[[], str]) -> Callable[[], str]:
    """A factory of fresh databases built by alembic (never create_all), dropped at the end."""

    def make() -> str:
        url = new_database()
        engine = make_engine(url, pool_size=1)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        return url

    return make


def verify_read_models(url: str, made_by: Mapping[str, str] | None = None) -> None:
    """Every projection of the database must equal a replay of its log (run at session end).

    A difference names, for each company it concerns, the test that made the company (from
    `made_by`, when the caller keeps one) and that company's events in log order: a difference
    that only a whole run shows can then be traced without running it again."""
    engine = make_engine(url, pool_size=2)
    try:
        differences = rebuild.verify(engine, list(registry.PROJECTORS))
        story = _events_of(engine, differences, made_by or {}) if differences else ""
    finally:
        engine.dispose()
    assert not differences, (
        "read models differ from a replay of the log:\n"
        + "\n".join(f"{d.table} {d.key}: {d.kind} {d.columns}" for d in differences[:50])
        + story
    )


def _events_of(engine: Engine, differences: list[Any], made_by: Mapping[str, str]) -> str:
    """The events (and the making test) of each company a difference names, as text."""
    companies = sorted({d.key["company"] for d in differences if "company" in d.key})[:3]
    lines: list[str] = []
    with engine.connect() as conn:
        for company in companies:
            lines.append(f"\ncompany {company}, made by {made_by.get(company, '(unknown)')}:")
            rows = conn.execute(
                text(
                    "SELECT position, tx, stream_id, stream_version, type, recorded_at, "
                    "left(data::text, 300) FROM events WHERE company = :c ORDER BY position"
                ),
                {"c": company},
            )
            lines.extend("  " + " | ".join(str(v) for v in row) for row in rows.fetchmany(400))
    return "\n".join(lines)


@pytest.fixture(scope="session")
def database_url(new_migrated_database: Callable[[], str]) -> Iterator[str]:
    """The session's database, built by alembic (never create_all); verified at the end."""
    url = new_migrated_database()
    yield url
    verify_read_models(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def company() -> str:
    """A company (tenant) of this test's own, so tests never see each other's tasks."""
    return f"co-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def bare_log_engine(new_migrated_database: Callable[[], str]) -> Iterator[Engine]:
    """A database of the module's own, for tests that append bare events (streams no
    projector could fold, e.g. pings of tasks never created); not verified at the end."""
    engine = make_engine(new_migrated_database(), pool_size=5)
    yield engine
    engine.dispose()


# --- a Citus cluster (tests/citus.py): skipped off CI without Citus, failing in CI ----------


@pytest.fixture(scope="session")
def citus_coordinator() -> Iterator[str]:
    """The maintenance database of the session's Citus coordinator (workers added)."""
    with citus.cluster_url() as url:
        print(f"\nCitus tests use the coordinator at {url}")
        yield url
