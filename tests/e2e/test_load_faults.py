"""Load with faults: clients write and read while PostgreSQL restarts (cleanly, then by crash)
and the server is SIGKILLed and restarted. Afterwards no acknowledged write is lost or doubled,
every other write lands exactly once when retried with its request id, the projections equal a
replay and every hash chain holds. Figures go to docs/reliability.md ("Load with faults").

Everything is on loopback and on a PostgreSQL of the test's own (tests/e2e/private_pg.py); the
server runs as a least-privilege application role (tasktrack/store/privileges.py).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tasktrack.projections import rebuild, registry, runner
from tasktrack.queries import audit
from tasktrack.store import credentials, migrate, privileges
from tasktrack.store.engine import make_engine, raw
from tests.e2e.http import Serve, basic
from tests.e2e.load import Ledger, Worker, Write, send
from tests.e2e.private_pg import PrivateServer, private_server

CLIENTS = 6
WARM_UP_S = 4.0
BETWEEN_FAULTS_S = 4.0
DATABASE_DOWN_S = 2.0
SERVER_DOWN_S = 1.0
RECOVERY_LIMIT_S = 5.0  # the service answers within this long after the database is back
APP_ROLE = "tasktrack_app"


def _answers_after(base: str, authorization: str, limit: float = 30.0) -> float:
    """Seconds until a call that needs the database (tasks.get_all) answers 200."""
    started = time.monotonic()
    with httpx.Client(base_url=base, timeout=2.0, headers={"Authorization": authorization}) as c:
        while time.monotonic() - started < limit:
            try:
                if c.post("/tasks.get_all", json={"page_size": 1}).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise AssertionError(f"the service did not answer within {limit} s")


@contextmanager
def _database(pg: PrivateServer) -> Iterator[tuple[str, str]]:
    """Owner and application-role URLs of a migrated database on the private server."""
    with psycopg.connect(pg.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE tasktrack")
        admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
    owner_url = pg.url("tasktrack")
    engine = make_engine(owner_url, pool_size=1)
    try:
        migrate.upgrade(engine)
        privileges.grant(engine, APP_ROLE)
    finally:
        engine.dispose()
    yield owner_url, pg.url("tasktrack", user=APP_ROLE)


def _transactions_per_request(owner_url: str) -> Counter[str | None]:
    """request id -> how many transactions wrote events carrying it (1 = applied once)."""
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT metadata->>'request_id', count(DISTINCT tx) FROM events GROUP BY 1"
        ).fetchall()
    return Counter({r[0]: int(r[1]) for r in rows})


def _retry(http: httpx.Client, write: Write, attempts: int = 50) -> Write:
    """What a client does with an unanswered write: send it again, same request id, until 200."""
    for _ in range(attempts):
        if send(http, write).outcome == "ack":
            break
        time.sleep(0.1)
    return write


def test_acknowledged_writes_survive_database_restarts_and_server_kills(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures: dict[str, Any] = {"clients": CLIENTS}
    with private_server() as pg, _database(pg) as (owner_url, app_url):
        owner = make_engine(owner_url, pool_size=2)
        with owner.begin() as conn:
            cred = credentials.create(conn, "load", "loader")
        authorization = basic(cred.access_key, cred.secret_key)
        serve = Serve(app_url, tmp_path / "serve.log")
        ledger, stop = Ledger(), threading.Event()
        try:
            serve.start()
            _answers_after(serve.base, authorization)
            workers = [
                Worker(serve.base, authorization, ledger, stop, seed) for seed in range(CLIENTS)
            ]
            began = time.monotonic()
            for w in workers:
                w.start()
            time.sleep(WARM_UP_S)

            # 1. PostgreSQL restarts cleanly (sessions are ended, the pool's connections die).
            pg.stop("fast")
            time.sleep(DATABASE_DOWN_S)
            pg.start()
            back_1 = time.monotonic()
            figures["answers_after_db_restart_s"] = round(
                _answers_after(serve.base, authorization), 3
            )
            time.sleep(BETWEEN_FAULTS_S)

            # 2. The server process is SIGKILLed mid-load and started again.
            serve.kill()
            time.sleep(SERVER_DOWN_S)
            serve.start()
            figures["answers_after_server_restart_s"] = round(
                _answers_after(serve.base, authorization), 3
            )
            time.sleep(BETWEEN_FAULTS_S)

            # 3. PostgreSQL crashes (every process killed; crash recovery at start).
            pg.stop("immediate")
            time.sleep(DATABASE_DOWN_S)
            pg.start()
            back_3 = time.monotonic()
            figures["answers_after_db_crash_s"] = round(
                _answers_after(serve.base, authorization), 3
            )
            time.sleep(BETWEEN_FAULTS_S)

            stop.set()
            for w in workers:
                w.join(30)
            figures["load_s"] = round(time.monotonic() - began, 1)
            figures["first_ack_after_db_restart_s"] = _first_ack_after(ledger, back_1)
            figures["first_ack_after_db_crash_s"] = _first_ack_after(ledger, back_3)
            _check(ledger, serve, owner_url, authorization, figures)
        finally:
            stop.set()
            serve.stop()
            owner.dispose()
        _check_read_models(owner_url)
        log = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in log, log[-5000:]
    with capsys.disabled():
        print("\nload with faults:", json.dumps(figures, sort_keys=True))
    for name in ("answers_after_db_restart_s", "answers_after_db_crash_s"):
        assert figures[name] < RECOVERY_LIMIT_S, figures


def _first_ack_after(ledger: Ledger, moment: float) -> float:
    after = [w.done_at - moment for w in ledger.writes if w.outcome == "ack" and w.done_at > moment]
    return round(min(after), 3) if after else float("inf")


def _check(
    ledger: Ledger, serve: Serve, owner_url: str, authorization: str, figures: dict[str, Any]
) -> None:
    writes = list(ledger.writes)
    figures["writes"] = len(writes)
    figures["reads_ok"], figures["reads_failed"] = ledger.reads_ok, ledger.reads_failed
    figures["requests"] = len(writes) + ledger.reads_ok + ledger.reads_failed
    figures["outcomes"] = dict(Counter(w.outcome for w in writes))
    odd = [w for w in writes if w.outcome in ("refused", "error")]
    assert not odd, [(w.endpoint, w.status, w.subcode, w.data) for w in odd[:10]]

    landed = _transactions_per_request(owner_url)
    sent = {w.rid for w in writes}
    assert set(landed) <= sent, "events carry request ids no client sent"
    for w in writes:
        if w.outcome == "ack":
            assert landed[w.rid] == 1, (w.endpoint, w.rid, landed[w.rid])
        elif w.outcome == "unavailable":  # 503 subcode 0 promises nothing was written
            assert landed[w.rid] == 0, (w.endpoint, w.rid, landed[w.rid])
        else:  # 503 subcode 1 (outcome unknown) or no answer: absent or present exactly once
            assert landed[w.rid] <= 1, (w.endpoint, w.rid, landed[w.rid])
    unanswered = [w for w in writes if w.outcome != "ack"]
    figures["unacknowledged_landed_before_retry"] = sum(landed[w.rid] for w in unanswered)

    # Retry every unacknowledged write with its request id; re-send a sample of acknowledged
    # ones too: the first answer comes back and nothing is written again.
    repeats = random.Random(0).sample(
        [w for w in writes if w.outcome == "ack"], k=min(50, len(writes) - len(unanswered))
    )
    with httpx.Client(
        base_url=serve.base, timeout=10.0, headers={"Authorization": authorization}
    ) as http:
        for w in unanswered:
            assert _retry(http, w).outcome == "ack", (w.endpoint, w.status, w.data)
        for w in repeats:
            first = w.data
            assert send(http, w).outcome == "ack"
            assert w.data == first, w.endpoint
    figures["retried"] = len(unanswered)
    figures["acknowledged"] = len(writes) - len(unanswered)
    landed = _transactions_per_request(owner_url)
    assert all(landed[w.rid] == 1 for w in writes)
    figures["events"] = _scalar(owner_url, "SELECT count(*) FROM events")


def _scalar(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _check_read_models(owner_url: str) -> None:
    """The projections equal a replay of the log, and every hash chain holds."""
    engine = make_engine(owner_url, pool_size=2)
    try:
        for spec in registry.catch_up():
            runner.catch_up(engine, spec)
        assert rebuild.verify(engine, list(registry.PROJECTORS)) == []
        with engine.connect() as conn:
            assert audit.verify_chains(raw(conn)) == []
            conn.rollback()
    finally:
        engine.dispose()
