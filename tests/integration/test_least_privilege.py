"""Least privilege: the service runs as a role that can append to the log but never rewrite it.

The module has a database of its own, owned by a role of its own (not a superuser), and a bare
login role made an application role with `privileges.grant`; both roles are dropped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry, runner
from tasktrack.service import Caller
from tasktrack.store import credentials, migrate, privileges
from tasktrack.store.engine import make_engine, raw
from tests import settle
from tests.roles import Roles, owner_and_app


@pytest.fixture(scope="module")
def roles(pg_server: str, new_database: Callable[[], str]) -> Iterator[Roles]:
    with owner_and_app(pg_server, new_database()) as made:
        yield made


@pytest.fixture(scope="module")
def owner_engine(roles: Roles) -> Iterator[Engine]:
    engine = make_engine(roles.owner_url, pool_size=2)
    migrate.upgrade(engine)
    privileges.grant(engine, roles.app)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def app_engine(roles: Roles, owner_engine: Engine) -> Iterator[Engine]:
    engine = make_engine(roles.app_url, pool_size=3)
    yield engine
    engine.dispose()


@pytest.fixture
def app(app_engine: Engine) -> Client:
    return Client(app_engine, Caller(company=f"co-{uuid.uuid4().hex[:8]}", user="alice"))


def _refused(engine: Engine, statement: str, params: tuple[Any, ...] = ()) -> str:
    """Run `statement` and return PostgreSQL's refusal (it must be a permission error)."""
    with engine.connect() as conn:
        pg = raw(conn)
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            pg.execute(statement, params)
        pg.rollback()
    return str(refused.value)


def _count(engine: Engine, query: str, params: tuple[Any, ...] = ()) -> int:
    with engine.connect() as conn:
        row = raw(conn).execute(query, params).fetchone()
        conn.rollback()
    assert row is not None
    return int(row[0])


@pytest.mark.smoke
def test_the_service_runs_as_the_application_role(app: Client, app_engine: Engine) -> None:
    task = str(app.create(name="least privilege", type="training", project="lp")["id"])
    app.enqueue(task=task, queue_name="gpu")
    app.started(task=task)
    points = [
        {"task": task, "type": "training_stats_scalar", "metric": "loss", "variant": "train",
         "value": v, "iter": i}
        for i, v in enumerate([0.5, 0.25])
    ]  # fmt: skip
    app.add_events(points, request_id="lp-report")
    app.add_events(points, request_id="lp-report")  # a retry: the stored answer, nothing written
    app.ping(task=task)
    app.completed(task=task, force=True)

    view = app.get_by_id(task)
    assert view.status == "completed"
    assert [h.to_status for h in app.get_status_history(task)][-1] == "completed"
    assert any(t.id == task for t in app.get_all())
    assert app.status_durations(task)  # the analytics views
    assert app.queue_waits(task)
    reported = "SELECT count(*) FROM events WHERE metadata->>'request_id' = 'lp-report'"
    assert _count(app_engine, reported) == 1

    other = str(app.create(name="to delete", type="testing")["id"])
    app.delete(task=other, force=True)  # deletes read-model rows
    assert not any(t.id == other for t in app.get_all())

    # The catch-up runner, and the server's credential check and token key. The runner reads
    # below the commit-safe horizon, which is server-wide: a transaction another test (or its
    # server) holds open keeps the events just written out of reach until it ends.
    settle.horizon_reaches_end(app_engine)
    (activity,) = registry.catch_up()
    assert runner.catch_up(app_engine, activity) > 0
    with app_engine.begin() as conn:
        assert len(credentials.server_secret(conn, "lp-test")) == 32
        assert credentials.verify(conn, "NOPE", "nope") is None


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET company = 'other'",
        "DELETE FROM events",
        "TRUNCATE events",
        "LOCK TABLE events IN SHARE MODE",  # what a rebuild takes to hold writers off
        "ALTER TABLE events DISABLE TRIGGER events_no_update_delete",
        "DROP TRIGGER events_no_truncate ON events",
    ],
)
def test_the_application_role_cannot_rewrite_the_log(
    app: Client, app_engine: Engine, owner_engine: Engine, statement: str
) -> None:
    app.create(name="history", type="training")
    before = _count(owner_engine, "SELECT count(*) FROM events")
    message = _refused(app_engine, statement)
    assert "permission denied" in message or "must be owner" in message
    assert _count(owner_engine, "SELECT count(*) FROM events") == before


def test_the_owner_meets_the_first_wall_the_application_role_the_second(
    app: Client, app_engine: Engine, owner_engine: Engine
) -> None:
    app.create(name="two walls", type="training")
    with owner_engine.connect() as conn, pytest.raises(psycopg.errors.RestrictViolation):
        raw(conn).execute("DELETE FROM events")  # the trigger
    # The privilege check comes before any trigger: a permission error, not the trigger's.
    assert "permission denied for table events" in _refused(app_engine, "DELETE FROM events")


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (x int)",
        "CREATE VIEW intruder AS SELECT 1",
        "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE INDEX intruder ON tasks (name)",
        "ALTER TABLE tasks ADD COLUMN intruder int",
        "DROP TABLE task_metrics",
        "DROP VIEW task_status_intervals",
        "TRUNCATE tasks",
        "DROP FUNCTION events_append_only()",
        "INSERT INTO credentials VALUES ('K', 'co', 'u', '', '', now(), NULL)",
        "UPDATE credentials SET revoked_at = now()",
        "UPDATE server_secrets SET value = ''",
        "UPDATE idempotency_keys SET response = '{}'",
        "DELETE FROM idempotency_keys",
        "UPDATE alembic_version SET version_num = 'x'",
        "SELECT setval(pg_get_serial_sequence('events', 'position'), 1)",
    ],
)
def test_the_application_role_has_no_ddl_and_no_owner_work(
    app_engine: Engine, statement: str
) -> None:
    message = _refused(app_engine, statement)
    assert "permission denied" in message or "must be owner" in message


def test_the_application_role_owns_nothing(roles: Roles, app_engine: Engine) -> None:
    owned = _count(
        app_engine,
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
        " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
        " + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)"
        " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
        " + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)"
        " FROM pg_roles r WHERE r.rolname = current_user",
    )
    assert owned == 0


def test_a_schema_that_lets_the_role_create_is_noticed(roles: Roles, owner_engine: Engine) -> None:
    with owner_engine.begin() as conn:
        assert not privileges.may_create(conn, roles.app)  # PostgreSQL 15+: PUBLIC may not
        raw(conn).execute(f"GRANT CREATE ON SCHEMA public TO {roles.app}")
        assert privileges.may_create(conn, roles.app)
        raw(conn).execute(f"REVOKE CREATE ON SCHEMA public FROM {roles.app}")


def test_the_grants_are_exactly_the_table(roles: Roles, owner_engine: Engine) -> None:
    with owner_engine.connect() as conn:
        rows = raw(conn).execute(
            "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE a.grantee = %s::regrole AND c.relnamespace = 'public'::regnamespace",
            (roles.app,),
        )
        held = {(str(r[0]), str(r[1])) for r in rows}
        conn.rollback()
    wanted = {(rel, p) for rel, privs in privileges.APP_PRIVILEGES.items() for p in privs}
    assert held == wanted
    assert ("events", "INSERT") in held
    assert not {("events", p) for p in ("UPDATE", "DELETE", "TRUNCATE")} & held


def test_every_relation_of_the_schema_has_a_decision(owner_engine: Engine) -> None:
    """A migration adding a table or view must say here what the application role may do."""
    with owner_engine.connect() as conn:
        rows = raw(conn).execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm', 'f')"
        )
        relations = {str(r[0]) for r in rows}
        conn.rollback()
    assert relations == set(privileges.APP_PRIVILEGES)


def test_migrations_need_the_owner_and_leave_the_application_role_working(
    roles: Roles, owner_engine: Engine, app_engine: Engine, app: Client
) -> None:
    task = str(app.create(name="across migrations", type="training")["id"])
    with pytest.raises(privileges.NotOwner, match=f"owner of tasktrack's schema \\({roles.owner}"):
        migrate.upgrade(app_engine)  # even with nothing to do: it is not the app's to run

    # Drops the bounded-reads tables of 0012 (not below 0011: a log with rule-2 events refuses
    # to go back to a revision that could not verify them).
    migrate.downgrade(owner_engine, "0011")
    try:
        with pytest.raises(privileges.NotOwner, match="tasktrack db upgrade"):
            migrate.upgrade(app_engine)
        with pytest.raises(privileges.NotOwner):
            migrate.downgrade(app_engine, "0007")
    finally:
        # The tables come back owned by the owner; the application role gets its grant again.
        assert migrate.upgrade(owner_engine) == [roles.app]
    assert app.status_durations(task)[0].status == "created"
    # The re-created tables are the application's to write and read again.
    app.started(task=task)
    point = {"task": task, "type": "training_stats_scalar", "metric": "m", "value": 1.5, "iter": 3}
    app.add_events([point, {"task": task, "type": "log", "msg": "hello"}])
    assert app.get_scalar_series(task)["m"][""].y == [1.5]
    assert [line.msg for line in app.get_task_log(task).events] == ["hello"]
    with app_engine.connect() as conn:
        assert privileges.app_roles(conn) == [roles.app]


def test_rebuild_and_verify_are_the_owners(
    app: Client, owner_engine: Engine, app_engine: Engine
) -> None:
    app.create(name="rebuild", type="training")
    specs = list(registry.PROJECTORS)
    assert rebuild.verify(owner_engine, specs) == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rebuild.verify(app_engine, specs)


def test_grant_refuses_what_cannot_be_an_application_role(
    roles: Roles, owner_engine: Engine, app_engine: Engine
) -> None:
    with pytest.raises(privileges.BadGrantee, match="does not exist"):
        privileges.grant(owner_engine, f"tt_nobody_{uuid.uuid4().hex[:8]}")
    with pytest.raises(privileges.BadGrantee, match="schema's owner"):
        privileges.grant(owner_engine, roles.owner)
    admin = make_engine(roles.admin_url, pool_size=1)
    try:
        with admin.connect() as conn:
            superuser = str(raw(conn).execute("SELECT current_user").fetchall()[0][0])
        with pytest.raises(privileges.BadGrantee, match="superuser"):
            privileges.grant(owner_engine, superuser)
    finally:
        admin.dispose()
    with pytest.raises(privileges.NotOwner):
        privileges.grant(app_engine, roles.app)


def test_revoke_then_grant_again(roles: Roles, owner_engine: Engine, app_engine: Engine) -> None:
    with owner_engine.begin() as conn:
        privileges.revoke(conn, roles.app)
        assert privileges.app_roles(conn) == []
    _refused(app_engine, "SELECT count(*) FROM tasks")
    privileges.grant(owner_engine, roles.app)
    assert _count(app_engine, "SELECT count(*) FROM tasks") >= 0
