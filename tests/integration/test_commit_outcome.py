"""A command whose server process is terminated around its COMMIT: what did it say, what landed?

The service promises: a command that raised anything but OutcomeUnknown wrote nothing (HTTP
answers 503 subcode 0, "retry later", for a database error, and 503 subcode 1 only for
OutcomeUnknown). This test terminates the database's server processes (SIGTERM, what
`pg_ctl stop -m fast` sends them) every few milliseconds while clients write, and checks that
promise against the log. The database is the test's own.
"""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tasktrack.service.core import OutcomeUnknown
from tests.pgserver import libpq

CHECKER = "tasktrack-test-checker"  # the one connection the terminator spares
ROUND_S = 1.0
ROUNDS = 15
WRITERS = 4  # the own_engine fixture's pool size


def _terminate(own: Engine, control: Engine, stop: threading.Event) -> None:
    with control.connect() as conn:
        while not stop.is_set():
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid() AND application_name <> :spare"
                ),
                {"d": own.url.database, "spare": CHECKER},
            )
            conn.commit()
            time.sleep(0.02)


def test_a_command_that_did_not_say_outcome_unknown_wrote_nothing(
    own_engine: Engine, engine: Engine
) -> None:
    client = Client(own_engine, Caller(company="acme", user="alice"))
    url = own_engine.url.render_as_string(hide_password=False)
    said: dict[str, str] = {}  # request id -> what the command raised ("" = nothing)
    lock = threading.Lock()
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            rid = uuid.uuid4().hex
            try:
                client.create(name="terminated", type="training", request_id=rid)
                outcome = ""
            except Exception as exc:
                outcome = type(exc).__name__
            with lock:
                said[rid] = outcome

    def landed_without_saying_so() -> dict[str, str]:
        with psycopg.connect(libpq(url), application_name=CHECKER) as conn:
            rows = conn.execute("SELECT DISTINCT metadata->>'request_id' FROM events")
            landed = {r[0] for r in rows}
        with lock:
            return {
                rid: what
                for rid, what in said.items()
                if what not in ("", OutcomeUnknown.__name__) and rid in landed
            }

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    threads.append(threading.Thread(target=_terminate, args=(own_engine, engine, stop)))
    for t in threads:
        t.start()
    wrong: dict[str, str] = {}
    try:
        # Until the first broken promise is seen (usually within a second), or ROUNDS rounds.
        for _ in range(ROUNDS):
            time.sleep(ROUND_S)
            wrong = landed_without_saying_so()
            if wrong:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert said, "no command ran"
    assert not wrong, f"{len(wrong)} commands raised, yet were committed: {sorted(wrong.values())}"
