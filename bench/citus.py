"""Benchmarks on a Citus cluster (`python -m bench --citus-url URL`): its databases and counters.

A database for a run is made on the coordinator with the extension on every node
(tests/citus.py), then migrated and `db distribute`d for tasktrack; a raw baseline creates its
own tables and distributes them by tenant here, as `db distribute` does the log. The two-phase
commits of a timed run are read from the cluster's statistics after it (prepared_so_far), which
the run does not notice; the statements one command sends to the workers are logged
(`citus.log_remote_commands`) in a separate probe run, so the timed runs carry no logging.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
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


class Probe:
    """Commands counted one at a time on a cluster: the statements the coordinator sent to the
    workers for each (its log, tests/citus.RemoteCommands) and the PREPARE TRANSACTIONs of
    every node (prepared_so_far). The second sees what the first cannot: a two-phase commit
    that a worker coordinates itself, inside a function call delegated to it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent = citus.RemoteCommands()
        self.engine = self.sent.engine(url)

    def connect(self) -> psycopg.Connection[Any]:
        """A connection that logs what the coordinator sends for it (the action closes it)."""
        conn = psycopg.connect(libpq(self.url))
        self.sent.listen(conn)
        return conn

    def count(self, action: Callable[[], Any]) -> dict[str, int]:
        # The engine's sessions end before each read of the statistics: a session adds its
        # counts to them when it ends.
        self.engine.dispose()
        before = prepared_so_far(self.url)
        counts = self.sent.count(action)
        self.engine.dispose()
        return {**counts, "prepared_all_nodes": prepared_so_far(self.url) - before}

    def close(self) -> None:
        self.engine.dispose()


def prepared_so_far(url: str, *, settle_s: float = 60.0) -> int:
    """The PREPARE TRANSACTIONs of two-phase commits in the database of `url` so far, summed
    over the nodes of the cluster, once every other session in it has ended.

    Citus writes a row into a node's pg_dist_transaction for each PREPARE that node sends (the
    record its 2PC recovery reads); recovery deletes the rows within a minute, but the table's
    inserted-rows statistic keeps counting. A backend adds its counts to that statistic when it
    ends (or after a second idle), so the sessions of a run, the coordinator's and those it
    opened on workers, must be gone before the count is read. Nothing is logged or asked of the
    run itself: its timing is not disturbed."""
    with psycopg.connect(libpq(url)) as conn:
        nodes = conn.execute("SELECT nodename, nodeport FROM pg_dist_node").fetchall()
    name = make_url(url).database
    with ExitStack() as stack:
        # One connection per node for the whole wait, so that the sessions asking are known
        # (a closed connection's backend lingers a moment: reconnecting would count it).
        conns = [
            stack.enter_context(
                psycopg.connect(host=host, port=port, user="postgres", dbname=name,
                                autocommit=True)
            )
            for host, port in nodes
        ]  # fmt: skip
        deadline = time.monotonic() + settle_s
        while (lingering := _lingering(conns)) > 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{lingering} sessions still open in {name} after {settle_s} s")
            time.sleep(0.2)
        total = 0
        for conn in conns:
            row = conn.execute(
                "SELECT n_tup_ins FROM pg_stat_all_tables "
                "WHERE relid = 'pg_catalog.pg_dist_transaction'::regclass"
            ).fetchone()
            total += int(row[0]) if row else 0
    return total


def _lingering(conns: list[psycopg.Connection[Any]]) -> int:
    """The client sessions in the database, over all nodes, that are neither the ones asking
    nor those a Citus maintenance daemon keeps open (its deadlock detection's, on every node,
    for as long as the database lives). Citus names its internal connections after the global
    pid of the backend that opened them, node id * 10^10 + pid, the node id being 99999999 in
    the daemons' (seen on Citus 13.2): a session counts as a daemon's when its pid part is a
    daemon's pid."""
    activity: list[tuple[str, str]] = []
    daemons = set()
    for conn in conns:
        rows = conn.execute(
            "SELECT pid, backend_type, application_name FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        activity += [(str(kind), str(name or "")) for _, kind, name in rows]
        daemons |= {
            int(pid) for pid, kind, _ in rows if str(kind).startswith("Citus Maintenance Daemon")
        }
    return sum(kind == "client backend" and _opener(name) not in daemons for kind, name in activity)


def _opener(application_name: str) -> int | None:
    """The pid of the backend that opened a Citus internal connection, from its name."""
    prefix = "citus_internal gpid="
    if not application_name.startswith(prefix):
        return None
    return int(application_name[len(prefix) :]) % 10**10
