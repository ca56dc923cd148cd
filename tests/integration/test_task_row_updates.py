"""A stored task's row is updated column by column, and only if it is the state diffed against."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from msgspec import structs
from psycopg import errors as pgerrors
from psycopg import pq
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain import events as ev
from tasktrack.domain.records import Metadata, Recorded
from tasktrack.projections.tasks import TasksProjector
from tasktrack.store import transactions
from tasktrack.store.engine import raw


def _started(task_id: str, version: int, company: str) -> Recorded:
    at = datetime.now(UTC)
    event = ev.TaskStarted(
        at=at, by="alice", change=ev.StatusChange(from_status="created", to_status="in_progress")
    )
    return Recorded(
        position=0,
        tx=0,
        stream_id=task_id,
        stream_version=version,
        type="TaskStarted",
        schema_version=1,
        event=event,
        metadata=Metadata(user="alice", company=company),
        recorded_at=at,
        hash=b"\x01" * 32,
    )


def _apply(
    engine: Engine, company: str, task_id: str, before_version: int, *, commit: bool = True
) -> None:
    """Apply one TaskStarted in pipeline mode (as the service does) to a state that claims to
    be the stored row at `before_version`."""
    projector = TasksProjector()
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        stored = projector.load(conn, company, [task_id])[task_id].state
        conn.rollback()
        claimed = structs.replace(stored, version=before_version)
        conn.autocommit = True
        try:
            with conn.pipeline():
                transactions.begin(conn)
                record = _started(task_id, before_version + 1, company)
                projector.apply(conn, [record], {task_id: claimed})
                if not commit:
                    # Read the row as the UPDATE left it, then drop the transaction: the event is
                    # not in the log, so the row must not keep it.
                    updated = conn.execute(
                        "SELECT status FROM tasks WHERE company = %s AND id = %s",
                        (company, task_id),
                    ).fetchone()
                    transactions.rollback(conn)
                    conn.execute("SELECT 1").fetchone()
                    assert updated == ("in_progress",)
                    raise _RolledBack()
                transactions.commit(conn)
        finally:
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")  # a failed command's, as the service ends it
            conn.autocommit = False


def _row(engine: Engine, company: str, task_id: str) -> Any:
    with engine.connect() as sa_conn:
        return TasksProjector().load(raw(sa_conn), company, [task_id])[task_id]


def test_a_row_that_is_not_the_state_diffed_against_is_refused_and_left_alone(
    client: Client, engine: Engine, company: str
) -> None:
    """The guard: a state one version behind the stored row (a caller whose `states` did not
    come from the row) fails the transaction instead of writing a row that is no fold. The
    right state's path is every other test's: after each, every row written must equal the
    fold of its stream (tests/integration/conftest.py)."""
    task_id = str(client.create(name="guarded", type="training")["id"])
    before = _row(engine, company, task_id)
    with pytest.raises(pgerrors.NotNullViolation):
        _apply(engine, company, task_id, before_version=before.state.version - 1)
    assert _row(engine, company, task_id) == before
    # The same statement against the right version goes through (then rolled back: the
    # event is not in the log).
    with pytest.raises(_RolledBack):
        _apply(engine, company, task_id, before_version=before.state.version, commit=False)
    assert _row(engine, company, task_id) == before


class _RolledBack(Exception):
    pass
