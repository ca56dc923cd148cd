"""Connections that die: a command retried when nothing was committed, an unknown outcome said.

Each test has a database of its own: it kills that database's server processes.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.service.core import OutcomeUnknown
from tasktrack.store import engine as engine_module


@pytest.fixture
def own(own_engine: Engine) -> Client:
    return Client(own_engine, Caller(company="acme", user="alice"))


def _kill_backends(engine: Engine, control: Engine) -> int:
    """Terminate every server process of `engine`'s database (from another database)."""
    name = engine.url.database
    with control.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": name},
        ).scalar_one()
    # Wait until they are gone, so the pool's sockets are dead when the command runs.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with control.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": name}
            ).scalar_one()
        if left == 0:
            break
        time.sleep(0.02)
    return int(killed)


def _events(engine: Engine, stream: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM events WHERE stream_id = :s"), {"s": stream}
            ).scalar_one()
        )


def test_a_command_on_a_dead_connection_is_retried_once_and_lands_once(
    own: Client, own_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No idle ping: the dead connection is handed out and the command meets it.
    monkeypatch.setattr(engine_module, "PING_IDLE_AFTER_S", 3600.0)
    task = str(own.create(name="survivor", type="training")["id"])
    before = _events(own_engine, task)
    assert _kill_backends(own_engine, engine) >= 1
    own.started(task=task)
    assert own.get_by_id(task).status == "in_progress"
    assert _events(own_engine, task) == before + 1


def test_a_read_after_a_restart_gets_a_live_connection_when_the_pool_was_idle(
    own: Client, own_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_IDLE_AFTER_S", 0.0)
    task = str(own.create(name="pinged", type="training")["id"])
    assert _kill_backends(own_engine, engine) >= 1
    assert own.get_by_id(task).name == "pinged"


def test_a_connection_lost_during_commit_is_an_unknown_outcome_not_a_retry(
    own: Client, own_engine: Engine, engine: Engine
) -> None:
    """The server process dies while committing (a deferred trigger kills it): the service
    must not retry blindly (the commit might have happened) and says the outcome is unknown."""
    task = str(own.create(name="doomed commit", type="training")["id"])
    with own_engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER die AFTER INSERT ON events "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die()"
            )
        )
    before = _events(own_engine, task)
    with pytest.raises(OutcomeUnknown, match="may or may not have been applied"):
        own.started(task=task)
    with own_engine.begin() as conn:
        conn.execute(text("DROP TRIGGER die ON events"))
    # Here the process died before the commit record: nothing landed, and nothing twice.
    assert _events(own_engine, task) == before
    assert own.get_by_id(task).status == "created"
