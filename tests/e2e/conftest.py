"""End-to-end fixtures: a real `tasktrack serve` process, or the CLI, on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import tasktrack
from tasktrack.api import Client
from tasktrack.store import credentials, migrate
from tasktrack.store.engine import make_engine
from tests.conftest import verify_read_models
from tests.e2e.cli import Tt, company_command
from tests.e2e.http import Api, basic, serving

# The web UI's fixtures, for every browser test module.
from tests.e2e.webui import browser, logged_in, seeded, ui_base  # noqa: F401

BODY_LIMIT = 1_000_000


@pytest.fixture(scope="session")
def company_makers() -> dict[str, str]:
    """Which test made each company of the shared database (for the closing check's report)."""
    return {}


@pytest.fixture(scope="session")
def e2e_database(new_database: Callable[[], str], company_makers: dict[str, str]) -> Iterator[str]:
    url = new_database()
    engine = make_engine(url, pool_size=1)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    yield url
    verify_read_models(url, company_makers)


@pytest.fixture
def db(new_migrated_database: Callable[[], str]) -> Iterator[tuple[str, Engine]]:
    """A migrated database of the test's own (URL and engine), for commands that look at (or
    break) the whole of it."""
    url = new_migrated_database()
    engine = make_engine(url, pool_size=2)
    yield url, engine
    engine.dispose()


@pytest.fixture(scope="session")
def e2e_engine(e2e_database: str) -> Iterator[Engine]:
    engine = make_engine(e2e_database, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared server's file server folder (not the user's data directory)."""
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="session")
def server(e2e_database: str, files_dir: Path) -> Iterator[str]:
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_FILES_DIR": str(files_dir),
        "TASKTRACK_MAX_BODY_BYTES": str(BODY_LIMIT),
        # Every test client calls from 127.0.0.1, and the fuzzing and attack tests fail to
        # authenticate on purpose: one address's budget would soon be spent for all of them.
        # The budgets themselves are tested on a server of their own (test_http_auth_limits).
        "TASKTRACK_AUTH_FAILURES_PER_ADDRESS": "1000000",
        "TASKTRACK_AUTH_FAILURES_PER_KEY": "1000000",
    }
    with serving(env) as base:
        yield base


@pytest.fixture
def new_caller(
    server: str,
    e2e_engine: Engine,
    company_makers: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Api]]:
    """Make an Api for a new credential (a fresh company unless one is given)."""
    made: list[Api] = []

    def make(company: str | None = None, user: str = "alice") -> Api:
        company = company or f"co-{uuid.uuid4().hex[:10]}"
        company_makers.setdefault(company, request.node.nodeid)
        with e2e_engine.begin() as conn:
            cred = credentials.create(conn, company, user)
        api = Api(server, basic(cred.access_key, cred.secret_key))
        api.credential = cred  # type: ignore[attr-defined]
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(new_caller: Callable[..., Api]) -> Api:
    return new_caller()


# --- the CLI's tests: one database per test module, one company per test -------------------


@pytest.fixture(scope="module")
def cli_database(new_migrated_database: Callable[[], str]) -> str:
    return new_migrated_database()


@pytest.fixture
def company() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(cli_database: str, company: str) -> Iterator[Client]:
    """The Python API on the CLI's database, acting for this test's company."""
    with tasktrack.connect(cli_database, company=company, user="alice") as c:
        yield c


@pytest.fixture
def tt(cli_database: str, company: str, cli_group: str) -> Tt:
    """`tasktrack <cli_group> --company <this test's> ARGS` on the test database (a module
    that uses it names its command group in a `cli_group` fixture)."""
    return company_command(cli_group, cli_database, company)
