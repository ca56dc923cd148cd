"""Moving a tenant's shards to the other worker (`citus_move_shard_placement`) on the
three-node cluster of tests/citus.py: what survives, and the one thing an operator must do first.

A tenant's commit-safe reader (`eventlog.read_all(company=...)`) orders by `tx`, stamped by the
worker holding the row (store/distribute.py). A move copies the rows with their `tx`, which
now count in the source worker's transaction ids, onto a worker with its own counter: if that
counter is behind, the tenant's next events get a `tx` below a checkpoint taken before the move
and a reader continuing from it skips them. Advancing the target's counter past the source's
before the move keeps the order (docs/architecture.md, "Citus: when a shard moves").
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tasktrack.api import Client
from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.service import Caller
from tasktrack.store import eventlog
from tasktrack.store.engine import make_engine
from tests import citus
from tests.e2e.cli import run

# The cluster script leaves wal_level at 'replica': the default transfer mode ('auto', logical
# replication for tables with a replica identity) then fails with "logical decoding requires
# wal_level >= logical"; 'block_writes' copies the shards while the tenant's writes wait.
MOVE = (
    "SELECT citus_move_shard_placement(%s, '127.0.0.1', %s, '127.0.0.1', %s, "
    "shard_transfer_mode := 'block_writes')"
)
# The old placements are otherwise dropped later by Citus's maintenance daemon, possibly while
# the module's DROP DATABASE runs (one teardown failed with ObjectInUse): dropped at once.
CLEANUP = "CALL citus_cleanup_orphaned_resources()"


@pytest.fixture(scope="module")
def citus_url(citus_coordinator: str) -> Iterator[str]:
    with citus.distributed_database(citus_coordinator) as url:
        yield url


def _on_worker(url: str, port: int) -> str:
    """The coordinator's URL, pointed at the worker listening on `port`, as libpq takes it."""
    return citus.libpq(make_url(url).set(port=port))


def _placement(coord: psycopg.Connection[Any], company: str) -> tuple[int, int]:
    """The events shard holding `company` and the port of the worker holding it."""
    row = coord.execute(
        "SELECT s.shardid, p.nodeport FROM pg_dist_shard_placement p JOIN pg_dist_shard s "
        "USING (shardid) WHERE s.shardid = get_shard_id_for_distribution_column('events', "
        "%s::text)",
        (company,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _workers(coord: psycopg.Connection[Any]) -> list[int]:
    rows = coord.execute("SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY 1")
    return [int(r[0]) for r in rows]


def _counter(url: str, port: int) -> int:
    """The next transaction id of the worker at `port` (it assigns one to this query)."""
    with psycopg.connect(_on_worker(url, port), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
    assert row is not None
    return int(row[0])


def _advance(url: str, port: int, past: int) -> None:
    """Make the worker at `port` hand out transaction ids above `past`: one tiny committed
    transaction per id (a DO block may COMMIT when run outside a transaction block)."""
    gap = past - _counter(url, port) + 1
    if gap > 0:
        with psycopg.connect(_on_worker(url, port), autocommit=True) as conn:
            conn.execute(
                f"DO $$ BEGIN FOR i IN 1..{int(gap)} LOOP PERFORM pg_current_xact_id(); "
                "COMMIT; END LOOP; END $$"
            )
    assert _counter(url, port) > past


def _read_from(reader: psycopg.Connection[Any], company: str, after: Checkpoint) -> list[Any]:
    return eventlog.read_all(reader, after, company=company, limit=100_000)


def _tenant_positions(coord: psycopg.Connection[Any], company: str) -> list[int]:
    rows = coord.execute("SELECT position FROM events WHERE company = %s", (company,))
    return sorted(int(r[0]) for r in rows)


def _write(client: Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        task = client.create(name=f"moved task {i}", type="training")["id"]
        client.started(task=task)
        ids.append(task)
    return ids


def test_a_move_onto_a_worker_whose_counter_is_behind_makes_a_reader_skip(
    citus_url: str,
) -> None:
    """The hazard, shown: the tenant's rows keep their source `tx` on the target, whose
    transaction ids are lower. Events written after the move sort below a checkpoint taken
    before it: a reader continuing from that checkpoint never returns them (a skip). And the
    moved events sit above the target's horizon: a reader from the start does not see them
    until the target's counter passes them (a stall)."""
    company = f"skip-{uuid.uuid4().hex[:10]}"
    engine = make_engine(citus_url, pool_size=1)
    client = Client(engine, Caller(company=company, user="alice"))
    try:
        with (
            psycopg.connect(citus.libpq(citus_url), autocommit=True) as coord,
            psycopg.connect(citus.libpq(citus_url), autocommit=True) as reader,
        ):
            shard, source = _placement(coord, company)
            (target,) = [p for p in _workers(coord) if p != source]
            # The source well ahead of the target, as it is after a busy tenant lived there.
            _advance(citus_url, source, _counter(citus_url, target) + 5000)
            _write(client, 2)
            before = _read_from(reader, company, LOG_START)
            assert [e.position for e in before] == _tenant_positions(coord, company)
            checkpoint = before[-1].checkpoint
            coord.execute(MOVE, (shard, source, target))
            coord.execute(CLEANUP)
            assert _placement(coord, company) == (shard, target)
            _write(client, 1)

            after = _read_from(reader, company, checkpoint)
            everything = _read_from(reader, company, LOG_START)
            new = sorted(set(_tenant_positions(coord, company)) - {e.position for e in before})
    finally:
        engine.dispose()
    assert len(new) >= 2  # the task's creation and its start
    assert [e.position for e in after] == [], "continuing from the checkpoint skips them"
    assert [e.position for e in everything] == new, "the moved events are held back"
    assert min(e.tx for e in before) > max(e.tx for e in everything)


def test_a_move_under_writes_with_the_counter_advanced_first_loses_and_repeats_nothing(
    citus_url: str,
) -> None:
    """The operator's procedure (docs/architecture.md): advance the target's transaction
    counter past the source's, then move. A writer keeps creating and starting tasks of the
    tenant throughout (its writes wait while the shards are copied) and a reader keeps reading
    from its last checkpoint: it returns every event once, none skipped, none repeated; every
    task acknowledged has its whole stream; the hash chains verify."""
    company = f"move-{uuid.uuid4().hex[:10]}"
    engine = make_engine(citus_url, pool_size=2)
    client = Client(engine, Caller(company=company, user="alice"))
    acknowledged: list[str] = []
    read: list[int] = []
    stop_writing, stop_reading = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop_writing.is_set():
                acknowledged.extend(_write(client, 1))
        except BaseException as e:  # reported by the test below
            failures.append(e)

    def reader() -> None:
        try:
            after = LOG_START
            with psycopg.connect(citus.libpq(citus_url), autocommit=True) as conn:
                while True:
                    finishing = stop_reading.is_set()
                    batch = _read_from(conn, company, after)
                    read.extend(e.position for e in batch)
                    after = batch[-1].checkpoint if batch else after
                    if finishing and not batch:
                        return
                    time.sleep(0.02)
        except BaseException as e:  # reported by the test below
            failures.append(e)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    try:
        with psycopg.connect(citus.libpq(citus_url), autocommit=True) as coord:
            shard, source = _placement(coord, company)
            (target,) = [p for p in _workers(coord) if p != source]
            # The hazard of the test above, set up again: the source far ahead.
            _advance(citus_url, source, _counter(citus_url, target) + 5000)
            for t in threads:
                t.start()
            while len(acknowledged) < 5 and not failures:
                time.sleep(0.05)
            moved_at = len(read)
            # The procedure: past the source's counter, with a margin for the transactions
            # the source still runs before the move blocks the tenant's writes.
            _advance(citus_url, target, _counter(citus_url, source) + 2000)
            coord.execute(MOVE, (shard, source, target))
            coord.execute(CLEANUP)
            assert _placement(coord, company) == (shard, target)
            written_at_move = len(acknowledged)
            while len(acknowledged) < written_at_move + 5 and not failures:
                time.sleep(0.05)
            stop_writing.set()
            threads[0].join(60)
            stop_reading.set()
            threads[1].join(60)
            assert not failures, failures
            everything = _tenant_positions(coord, company)
            streams = coord.execute(
                "SELECT stream_id, array_agg(stream_version ORDER BY stream_version) "
                "FROM events WHERE company = %s GROUP BY stream_id",
                (company,),
            ).fetchall()
    finally:
        stop_writing.set()
        stop_reading.set()
        for t in threads:
            if t.is_alive():
                t.join(60)
        engine.dispose()
    assert 0 < moved_at < len(read), "the reader read both before and after the move"
    assert len(read) == len(set(read)), "no event read twice"
    assert sorted(read) == everything, "no event skipped"
    assert len(everything) == len(set(everything))
    versions = {str(s): list(v) for s, v in streams}
    assert set(versions) == set(acknowledged), "every acknowledged task, and nothing else"
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions

    audit = run("audit", "verify", env={"TASKTRACK_DATABASE_URL": citus_url})
    assert audit.returncode == 0, audit.stdout + audit.stderr
    covered = sum(int(n) for n in re.findall(r"(\d+) events under chain rule", audit.stdout))
    with psycopg.connect(citus.libpq(citus_url), autocommit=True) as coord:
        row = coord.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    assert covered == row[0]
