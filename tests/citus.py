"""Where tests get a Citus cluster: TASKTRACK_TEST_CITUS_URL, else one started for the session
with ../shared/citus/cluster.sh (a coordinator and two workers) when Citus is installed.

Without Citus the tests that need it are skipped with the reason; in CI (CI set) they fail,
like the browser tests: CI builds Citus first (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from tasktrack.store.engine import make_engine
from tests import pgserver

ENV_URL = "TASKTRACK_TEST_CITUS_URL"
# The scripts that build Citus and start a cluster live beside the project (../shared/citus);
# TASKTRACK_CITUS_SCRIPTS points elsewhere (a worktree's checkout is one level deeper).
ENV_SCRIPTS = "TASKTRACK_CITUS_SCRIPTS"
PGMAJOR = os.environ.get("PGMAJOR", "15")


def scripts_dir() -> Path:
    given = os.environ.get(ENV_SCRIPTS)
    return Path(given) if given else Path(__file__).resolve().parents[2] / "shared" / "citus"


def installed() -> bool:
    """Is the citus extension installed for the PostgreSQL the cluster script runs?"""
    return Path(f"/usr/share/postgresql/{PGMAJOR}/extension/citus.control").is_file()


def unavailable(reason: str) -> None:
    """Skip off CI, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs ../shared/citus/build.sh before the tests)")
    pytest.skip(reason)


def _free_ports(n: int) -> int:
    """A first port such that it and the next n-1 are free on 127.0.0.1 (checked, then used:
    a race with another process is possible but harmless, the start then fails loudly)."""
    for first in range(9710, 9990, 10):
        if all(_free(first + i) for i in range(n)):
            return first
    raise RuntimeError("no free ports for a Citus cluster in 9710-9989")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tenant(prefix: str) -> str:
    """A company name of the test's own."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


libpq = pgserver.libpq


@contextmanager
def cluster_url() -> Iterator[str]:
    """The URL of the coordinator's maintenance database (workers already added to it)."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    script = scripts_dir() / "cluster.sh"
    if not installed() or not script.is_file():
        unavailable(
            f"Citus is not installed or {script} is missing: run ../shared/citus/build.sh "
            f"(or set {ENV_URL} to a coordinator's maintenance database)"
        )
    data = tempfile.mkdtemp(prefix="tasktrack-citus-")
    port = _free_ports(3)
    env = {**os.environ, "CITUS_DIR": data, "CITUS_PORT": str(port)}
    try:
        subprocess.run([str(script), "start"], env=env, check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(script), "stop"], env=env, check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def create_database(coordinator: str) -> str:
    """A fresh database with the citus extension on every node and the workers added to it."""
    name = f"tt_citus_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(coordinator), autocommit=True) as conn:
        workers = conn.execute(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport"
        ).fetchall()
        conn.execute("SET citus.enable_create_database_propagation = on")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    for host, port in workers:
        with psycopg.connect(
            host=host, port=port, user="postgres", dbname=name, autocommit=True
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
    url = make_url(coordinator).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        host, port = make_url(url).host, make_url(url).port
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (host, port))
        for worker_host, worker_port in workers:
            conn.execute("SELECT citus_add_node(%s, %s)", (worker_host, worker_port))
    return url


def drop_database(coordinator: str, url: str) -> None:
    name = make_url(url).database
    assert name is not None
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    for attempt in range(5):
        try:
            with psycopg.connect(libpq(coordinator), autocommit=True) as conn:
                conn.execute("SET citus.enable_create_database_propagation = on")
                conn.execute(drop)
            return
        except psycopg.errors.ObjectInUse:
            # Seen once tearing down tests/e2e/test_citus_shards.py (cause not pinned down;
            # likely a Citus background connection to the database, e.g. the deferred drop of
            # a moved shard's old placement, which FORCE may not end): retried briefly.
            if attempt == 4:
                raise
            time.sleep(1)


@contextmanager
def distributed_database(coordinator: str) -> Iterator[str]:
    """A fresh database on the cluster, migrated and distributed by the commands an operator
    runs (`tasktrack db upgrade`, `tasktrack db distribute`); dropped afterwards."""
    from tests.e2e.cli import run  # the e2e helpers, only for the tests that use them

    url = create_database(coordinator)
    try:
        env = {"TASKTRACK_DATABASE_URL": url}
        for step in (("db", "upgrade"), ("db", "distribute")):
            done = run(*step, env=env)
            assert done.returncode == 0, done.stderr
        yield url
    finally:
        drop_database(coordinator, url)


class RemoteCommands:
    """The statements a coordinator sends to workers on the connections that listen, as Citus
    logs them (`citus.log_remote_commands`: one `issuing …` notice each, `BEGIN`, `COMMIT` and
    `PREPARE TRANSACTION` included)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        if message.startswith("issuing "):
            self.sent.append(message)

    def listen(self, conn: psycopg.Connection[Any]) -> None:
        """Have `conn` log what the coordinator sends for it here."""
        conn.add_notice_handler(self._notice)
        conn.execute("SET citus.log_remote_commands = on")
        conn.commit()

    def engine(self, url: str) -> Engine:
        """An engine of one connection that listens."""
        engine = make_engine(url, pool_size=1)
        event.listen(engine, "connect", lambda dbapi_conn, _record: self.listen(dbapi_conn))
        return engine

    def since(self, start: int) -> list[str]:
        """The statements sent after the first `start`."""
        return self.sent[start:]

    def count(self, action: Callable[[], Any]) -> dict[str, int]:
        """The statements `action` caused, and the `PREPARE TRANSACTION`s among them (one per
        worker connection of a two-phase commit)."""
        start = len(self.sent)
        action()
        mine = self.since(start)
        return {
            "remote_commands": len(mine),
            "prepared": sum("PREPARE TRANSACTION" in s for s in mine),
        }


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
                psycopg.connect(libpq(make_url(url).set(host=host, port=port)), autocommit=True)
            )
            for host, port in nodes
        ]
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


class Probe:
    """Commands counted one at a time on a cluster, through `engine` (one connection) or
    `connect()`: the statements the coordinator sent to the workers for each (its log,
    RemoteCommands) and the PREPARE TRANSACTIONs of every node (prepared_so_far). The second
    sees what the first cannot: a two-phase commit that a worker coordinates itself, inside a
    function call delegated to it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent = RemoteCommands()
        self.engine = self.sent.engine(url)

    def connect(self) -> psycopg.Connection[Any]:
        """A connection that logs what the coordinator sends for it (the action closes it)."""
        conn = psycopg.connect(libpq(self.url))
        self.sent.listen(conn)
        return conn

    def count(self, action: Callable[[], Any]) -> dict[str, int]:
        """RemoteCommands.count of `action`, and `prepared_all_nodes`: the PREPAREs every node
        sent meanwhile."""
        # The engine's session ends before each read of the statistics: a session adds its
        # counts to them when it ends.
        self.engine.dispose()
        before = prepared_so_far(self.url)
        counts = self.sent.count(action)
        self.engine.dispose()
        return {**counts, "prepared_all_nodes": prepared_so_far(self.url) - before}

    def close(self) -> None:
        self.engine.dispose()
