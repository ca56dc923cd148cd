"""Benchmarks on a Citus cluster (`python -m bench --citus-url URL`): its databases and counters.

A database for a run is made on the coordinator with the extension on every node
(tests/citus.py), then migrated and `db distribute`d for tasktrack; a raw baseline creates its
own tables and distributes them by tenant here, as `db distribute` does the log. The two-phase
commits of a timed run are read from the cluster's statistics after it (tests/citus.py,
prepared_so_far), which the run does not notice; the statements one command sends to the
workers are logged (`citus.log_remote_commands`) in a separate probe run, so the timed runs
carry no logging.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tasktrack.store import migrate
from tasktrack.store.distribute import distribute
from tasktrack.store.engine import make_engine
from tests import citus

# The coordinators the harness was given (their maintenance databases' URLs).
_clusters: set[str] = set()


def register(coordinator: str) -> str:
    """Mark `coordinator` as a Citus cluster for fresh_database / drop_database."""
    _clusters.add(coordinator)
    return coordinator


def is_cluster(server: str) -> bool:
    return server in _clusters


def fresh_database(coordinator: str, *, migrated: bool) -> str:
    """A new database on the cluster; migrated and distributed by tenant when `migrated`
    (no template: CREATE DATABASE ... TEMPLATE is not propagated to the workers)."""
    url = citus.create_database(coordinator)
    if migrated:
        engine = make_engine(url, pool_size=1)
        try:
            migrate.upgrade(engine)
            distribute(engine)
        finally:
            engine.dispose()
    return url


def drop_database(coordinator: str, url: str) -> None:
    citus.drop_database(coordinator, url)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def distribute_raw(conn: psycopg.Connection[Any], tables: list[str]) -> None:
    """Shard a raw baseline's tables by `company`, co-located with the first, as
    `db distribute` shards tasktrack's (the raw schemas lead every key with `company`)."""
    for i, table in enumerate(tables):
        colocate = "none" if i == 0 else tables[0]
        conn.execute(
            "SELECT create_distributed_table(%s, 'company', colocate_with => %s)",
            (table, colocate),
        )


def is_citus(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone()
    return row is not None


def prepared_so_far(url: str) -> int:
    """The PREPARE TRANSACTIONs of two-phase commits in the database so far, on all nodes,
    once its other sessions have ended (tests/citus.py)."""
    return citus.prepared_so_far(url)


# Commands counted one at a time on a cluster (tests/citus.py): the probe runs' measure.
Probe = citus.Probe
