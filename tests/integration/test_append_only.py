"""The log is append-only in the database itself: UPDATE, DELETE and TRUNCATE raise."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine

from tasktrack.store.engine import raw
from tests import factories
from tests.integration import eventlog_support


@pytest.fixture(scope="module")
def engine(bare_log_engine: Engine) -> Engine:
    """These tests write bare events (no TaskCreated first): keep them out of the shared log."""
    return bare_log_engine


@pytest.fixture
def stream(engine: Engine) -> str:
    stream_id = factories.new_id()
    with engine.begin() as conn:
        eventlog_support.append(
            raw(conn),
            stream_id=stream_id,
            events=[factories.created(stream_id)],
            metadata=factories.meta(),
            recorded_at=factories.now(),
        )
    return stream_id


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE events SET company = 'other' WHERE stream_id = %s", "UPDATE"),
        ("DELETE FROM events WHERE stream_id = %s", "DELETE"),
        ("TRUNCATE events", "TRUNCATE"),
    ],
)
def test_history_cannot_be_rewritten(
    engine: Engine, stream: str, statement: str, operation: str
) -> None:
    with engine.connect() as conn:
        pg = raw(conn)
        params = (stream,) if "%s" in statement else ()
        with pytest.raises(psycopg.errors.RestrictViolation, match=f"append-only: {operation}"):
            pg.execute(statement, params)
        pg.rollback()
        count = pg.execute("SELECT count(*) FROM events WHERE stream_id = %s", (stream,))
        assert count.fetchone() == (1,)
