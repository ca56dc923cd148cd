"""`projections verify` of a catch-up projector replays as far as its checkpoint even when a
transaction open elsewhere in the cluster (another database: transaction ids are cluster-wide)
holds the commit-safe horizon below it, as after an import or a rebuild with writers held off."""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.projections import checkpoints, registry
from tasktrack.projections import rebuild as rebuilding
from tasktrack.service import Caller
from tasktrack.store.engine import raw
from tests import pgserver

ACTIVITY = registry.BY_NAME["activity_daily"]


def test_a_held_back_horizon_is_no_difference(own_engine: Engine, pg_server: str) -> None:
    # The maintenance database, not this test's.
    elsewhere = psycopg.connect(pgserver.libpq(pg_server))
    try:
        elsewhere.execute("SELECT pg_current_xact_id()")  # an xid older than every event below
        client = Client(own_engine, Caller(company="acme", user="alice"))
        for i in range(3):
            task = str(client.create(name=f"job {i}", type="training", project="p")["id"])
            client.started(task=task)
        # With an inline projector among them, the rebuild holds writers off and reads past
        # the horizon: the rollup's checkpoint ends up beyond it.
        rebuilding.rebuild(own_engine, list(registry.PROJECTORS))
        with own_engine.connect() as conn:
            at = checkpoints.read_checkpoint(raw(conn), ACTIVITY.name)
            horizon = int(
                conn.exec_driver_sql(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
                ).scalar_one()
            )
        assert at is not None
        assert horizon <= at.tx  # the situation under test: the horizon is held back
        assert rebuilding.verify(own_engine, [ACTIVITY]) == []
    finally:
        elsewhere.rollback()
        elsewhere.close()
