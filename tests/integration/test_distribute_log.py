"""The log's side of `db distribute` (store/distribute_log.py, projections/distributing.py) on a
single PostgreSQL, where its SQL runs as it does on the coordinator: other sessions named and
refused, whole-log checkpoints made one per tenant at each tenant's last event, the stream
order check, and a plain PostgreSQL refused before anything (the catch-up included) runs.
The cluster side is tests/e2e/test_citus_distribute.py."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.records import LOG_START
from tasktrack.projections import checkpoints, distributing, registry, runner
from tasktrack.service import Caller
from tasktrack.store import distribute, distribute_log, eventlog
from tasktrack.store.engine import raw
from tests import settle

ACTIVITY = registry.BY_NAME["activity_daily"]


def libpq(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _write(engine: Engine, company: str, n: int) -> None:
    client = Client(engine, Caller(company=company, user="alice"))
    for i in range(n):
        task = client.create(name=f"task {i}", type="training")["id"]
        client.started(task=task)


def test_another_session_on_the_database_is_named_and_refused(own_engine: Engine) -> None:
    with own_engine.connect() as conn:
        distribute_log.require_alone(conn)  # alone: no error
        conn.rollback()
    with psycopg.connect(libpq(own_engine), application_name="a-writer") as other:
        other.execute("SELECT 1")
        with own_engine.connect() as conn:
            with pytest.raises(distribute_log.NotSafeToDistribute, match="a-writer"):
                distribute_log.require_alone(conn)
            conn.rollback()


def test_the_whole_logs_checkpoint_becomes_one_per_tenant_at_each_tenants_last_event(
    own_engine: Engine,
) -> None:
    _write(own_engine, "tenant-a", 3)
    _write(own_engine, "tenant-b", 2)
    settle.horizon_reaches_end(own_engine)
    assert runner.catch_up(own_engine, ACTIVITY) == 10
    with own_engine.begin() as sa_conn:
        conn = raw(sa_conn)
        whole = checkpoints.read_checkpoint(conn, ACTIVITY.name)
        assert distribute_log.unread_beyond(sa_conn, whole.tx, whole.position) == 0
        assert distribute_log.per_tenant_checkpoints(sa_conn) == [ACTIVITY.name]
    with own_engine.connect() as sa_conn:
        conn = raw(sa_conn)
        assert checkpoints.read_checkpoint(conn, ACTIVITY.name) == LOG_START  # '' row gone
        per_tenant = checkpoints.tenant_checkpoints(conn, ACTIVITY.name)
        assert set(per_tenant) == {"tenant-a", "tenant-b"}
        for company, cp in per_tenant.items():
            mine = eventlog.read_all(conn, LOG_START, company=company)
            assert cp == mine[-1].checkpoint
            assert eventlog.read_all(conn, cp, company=company) == []
        # A second run has nothing left to convert and changes nothing.
        assert distribute_log.per_tenant_checkpoints(sa_conn) == []
        assert checkpoints.tenant_checkpoints(conn, ACTIVITY.name) == per_tenant
        distribute_log.check_stream_order(sa_conn)
        sa_conn.rollback()


def test_a_checkpoint_behind_the_log_counts_what_is_beyond_it(own_engine: Engine) -> None:
    _write(own_engine, "tenant-c", 2)
    settle.horizon_reaches_end(own_engine)
    with own_engine.connect() as sa_conn:
        assert distribute_log.unread_beyond(sa_conn, 0, 0) == 4
        last = eventlog.read_all(raw(sa_conn), LOG_START)[-2].checkpoint
        assert distribute_log.unread_beyond(sa_conn, last.tx, last.position) == 1
        sa_conn.rollback()


def test_a_plain_postgresql_is_refused_before_the_catch_up_runs(own_engine: Engine) -> None:
    _write(own_engine, "tenant-d", 2)
    settle.horizon_reaches_end(own_engine)
    with pytest.raises(distribute.NotCitus):
        distributing.distribute_database(own_engine)
    with own_engine.connect() as sa_conn:
        assert checkpoints.read_checkpoint(raw(sa_conn), ACTIVITY.name) == LOG_START
        sa_conn.rollback()
