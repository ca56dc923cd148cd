"""Agents poll one queue (queues.get_next_task) while `tasktrack serve` is SIGKILLed and started
again, twice: no task is lost and none is handed out twice.

A handout is one transaction (TaskHandedOut on the task's stream, naming the queue; the entry
leaving the line; the idempotency record). A kill before the commit leaves the task in line; a
kill after it, before the answer reached the agent, is what the agent's request id is for: it
asks again with the same id (as ClearML's agents retry a call that got no answer) and gets the
stored answer, the same task, rather than another one while the first stays handed out to nobody.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.service import Caller
from tasktrack.store import credentials
from tests.e2e.http import Serve, basic

TASKS = 300
POLLERS = 4
KILL_AT = (60, 180)  # tasks received before each kill


def _next_task(http: httpx.Client, queue: str, stop: threading.Event) -> str | None:
    """One get_next_task, asked again with its request id until it is answered."""
    request_id = uuid.uuid4().hex
    while not stop.is_set():
        try:
            answer = http.post(
                "/queues.get_next_task",
                json={"queue": queue},
                headers={"X-Request-Id": request_id},
            )
        except httpx.HTTPError:
            time.sleep(0.05)  # the server is down: ask again, same id
            continue
        if answer.status_code != 200:
            time.sleep(0.05)  # 503 while the database connection is replaced: same id
            continue
        entry = answer.json()["data"].get("entry")
        return None if entry is None else str(entry["task"])
    raise AssertionError("stopped while a call was unanswered")


def _poll(base: str, auth: str, queue: str, got: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=5.0, headers={"Authorization": auth}) as http:
        while (task := _next_task(http, queue, stop)) is not None:
            got.append(task)


def test_no_task_is_lost_or_doubled_when_the_server_is_killed_mid_handout(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = db
    with engine.begin() as conn:
        cred = credentials.create(conn, "agents", "agent")
    client = Client(engine, Caller(company="agents", user="agent"))
    queue = str(client.create_queue(name="contended")["id"])
    tasks = [str(client.create(name=f"task {i}", type="training")["id"]) for i in range(TASKS)]
    client.enqueue_many(ids=tasks, queue=queue)

    serve = Serve(url, tmp_path / "serve.log")
    stop = threading.Event()
    got: list[list[str]] = [[] for _ in range(POLLERS)]
    auth = basic(cred.access_key, cred.secret_key)
    serve.start()
    pollers = [
        threading.Thread(target=_poll, args=(serve.base, auth, queue, got[i], stop))
        for i in range(POLLERS)
    ]
    kills = 0
    try:
        for p in pollers:
            p.start()
        deadline = time.monotonic() + 120
        for at in KILL_AT:
            while sum(map(len, got)) < at and time.monotonic() < deadline:
                time.sleep(0.005)
            serve.kill()  # mid-load: calls in flight, some committed and unanswered
            kills += 1
            time.sleep(0.5)
            serve.start()
        for p in pollers:
            p.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(p.is_alive() for p in pollers), "the pollers did not drain the queue"
    finally:
        stop.set()
        serve.stop()

    received = Counter(t for mine in got for t in mine)
    assert kills == len(KILL_AT)
    assert sorted(received) == sorted(tasks)  # every task reached an agent ...
    assert max(received.values()) == 1  # ... exactly once
    with engine.connect() as conn:
        handed = Counter(
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT stream_id FROM events "
                "WHERE type = 'TaskHandedOut' AND data::jsonb->>'queue' = %s",
                (queue,),
            )
        )
    assert handed == received  # and the log says so: one handout per task
    assert client.get_num_entries(queue) == 0
    assert rebuild.verify(engine, list(registry.PROJECTORS)) == []
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
