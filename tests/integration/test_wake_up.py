"""The catch-up runners' wake-up: a NOTIFY after each command's COMMIT that appended events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tasktrack.store import transactions
from tests import pgserver


@pytest.fixture
def listener(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    url = engine.url.render_as_string(hide_password=False)
    with psycopg.connect(pgserver.libpq(url)) as conn:
        conn.autocommit = True
        conn.execute(f"LISTEN {transactions.CHANNEL}")
        yield conn


def _heard(conn: psycopg.Connection[Any]) -> list[str]:
    return [n.channel for n in conn.notifies(timeout=0.5, stop_after=5)]


def test_no_trigger_on_the_log_sends_it(engine: Engine) -> None:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgname = 'events_notify'"))
        assert found.first() is None  # inside a transaction, it serialized every commit


def test_a_command_that_appends_wakes_the_runners_after_its_commit(
    client: Client, listener: psycopg.Connection[Any]
) -> None:
    task = str(client.create(name="a task", type="training")["id"])
    assert _heard(listener) == [transactions.CHANNEL]
    client.started(task=task)
    assert _heard(listener) == [transactions.CHANNEL]


def test_a_command_that_appends_nothing_wakes_nobody(
    client: Client, listener: psycopg.Connection[Any]
) -> None:
    client.validate(name="a task", type="training")
    with pytest.raises(DomainError):
        client.started(task="no-such-task")
    assert _heard(listener) == []


def test_a_failed_wake_up_after_the_commit_still_answers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT 1 / 0")

    task = str(client.create(name="a task", type="training")["id"])
    monkeypatch.setattr(transactions, "send_wake_up", failing)
    assert client.started(task=task)["updated"] == 1
    assert client.completed(task=task)["updated"] == 1  # the connection is usable again
    monkeypatch.undo()
    assert client.get_by_id(task).status == "completed"
