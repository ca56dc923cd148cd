"""Integration fixtures: a client per test (own company), and the replay check after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.store.engine import make_engine
from tests import replay


@pytest.fixture(scope="session")
def service_client(engine: Engine) -> Client:
    return Client(engine, Caller(company="session", user="tester"))


@pytest.fixture
def client(service_client: Client, company: str) -> Client:
    """A client acting for this test's own company as user `alice`."""
    return service_client.as_caller(company, "alice")


@pytest.fixture
def own_engine(
    new_migrated_database: Callable[[], str], request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A database of this test's own, for tests that look at (or break) the whole of it.

    Afterwards every stream of it, folded from the log, must equal its row, as after the tests
    on the shared database; tests that tamper with the log or the read models on purpose say
    so with the `tampers` marker and are left alone."""
    engine = make_engine(new_migrated_database(), pool_size=4)
    yield engine
    try:
        if request.node.get_closest_marker("tampers") is None:
            problems = replay.mismatches(engine, after_position=0)
            assert not problems, "read models differ from a replay of the log:\n" + "\n".join(
                problems
            )
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def replay_matches_read_models(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that writes through the service: each stream it wrote, folded from the
    log, equals its row. (Tests of the bare event log write streams no projector saw.)"""
    if "service_client" not in request.fixturenames:
        yield
        return
    engine: Engine = request.getfixturevalue("engine")
    start = replay.log_end(engine)
    yield
    problems = replay.mismatches(engine, after_position=start)
    assert not problems, "read models differ from a replay of the log:\n" + "\n".join(problems)
