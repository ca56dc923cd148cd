"""Clients of the load-with-faults run: mixed writes and reads, and a ledger of every write.

Each write carries a request id of its own (X-Request-Id) and is recorded with its outcome:
acknowledged (200), unavailable (503 subcode 0: the server says nothing was written), unknown
(503 subcode 1: the connection broke during COMMIT), lost (no answer: connection refused or
reset, timeout), refused (another 4xx) or error (a 5xx other than 503). A client gives up a task
after a write on it was not acknowledged (it would retry it first; here every retry is left for
after the run, so the task's state stays as that write expects).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

JSON = "application/json"
JSON_LINES = "application/json-lines"
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dataclass
class Write:
    """One write request as sent, and what came back."""

    rid: str
    endpoint: str
    content: str
    content_type: str
    outcome: str = "pending"
    status: int | None = None
    subcode: int | None = None
    data: Any = None
    done_at: float = 0.0  # time.monotonic() when the answer (or the failure) came


@dataclass
class Ledger:
    """Everything the clients did (thread-safe)."""

    writes: list[Write] = field(default_factory=list)
    reads_ok: int = 0
    reads_failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)
            self.outcomes[write.outcome] = self.outcomes.get(write.outcome, 0) + 1

    def read(self, ok: bool) -> None:
        with self.lock:
            if ok:
                self.reads_ok += 1
            else:
                self.reads_failed += 1


def send(http: httpx.Client, write: Write) -> Write:
    """Send (or re-send) `write`, filling in its outcome."""
    try:
        response = http.post(
            f"/{write.endpoint}",
            content=write.content,
            headers={"Content-Type": write.content_type, "X-Request-Id": write.rid},
        )
    except httpx.HTTPError as exc:
        write.outcome, write.status, write.subcode = "lost", None, None
        write.data = type(exc).__name__
        write.done_at = time.monotonic()
        return write
    write.done_at = time.monotonic()
    write.status = response.status_code
    meta = response.json()["meta"]
    write.subcode = meta["result_subcode"]
    write.data = response.json()["data"] if response.status_code == 200 else meta["result_msg"]
    if response.status_code == 200:
        write.outcome = "ack"
    elif response.status_code == 503:
        write.outcome = "unknown" if write.subcode == 1 else "unavailable"
    elif response.status_code < 500:
        write.outcome = "refused"
    else:
        write.outcome = "error"
    return write


def metric_lines(task: str, start: int, n: int = 5) -> str:
    return "\n".join(
        json.dumps(
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": "loss",
                "variant": "train",
                "value": 1.0 / (i + 1),
                "iter": i,
            }
        )
        for i in range(start, start + n)
    )


class Worker(threading.Thread):
    """One client: creates tasks, walks them to in_progress, reports metrics, pings, reads."""

    def __init__(
        self, base: str, authorization: str, ledger: Ledger, stop: threading.Event, seed: int
    ) -> None:
        super().__init__(daemon=True, name=f"load-client-{seed}")
        self.http = httpx.Client(
            base_url=base, timeout=TIMEOUT, headers={"Authorization": authorization}
        )
        self.ledger = ledger
        self.stop = stop
        self.random = random.Random(seed)
        self.tasks: dict[str, str] = {}  # task id -> "created" | "queued" | "running"
        self.reported: dict[str, int] = {}

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.step():
                    time.sleep(0.2)  # back off after a failure, as a client would
        finally:
            self.http.close()

    def step(self) -> bool:
        roll = self.random.random()
        if len(self.tasks) < 3 or roll < 0.1:
            return self.write("tasks.create", {"name": f"load {uuid.uuid4().hex[:8]}",
                                               "type": "training"}, None)  # fmt: skip
        if roll < 0.35:
            return self.read()
        task = self.random.choice(sorted(self.tasks))
        stage = self.tasks[task]
        if stage == "created":
            return self.write("tasks.enqueue", {"task": task, "queue_name": "load"}, task)
        if stage == "queued":
            return self.write("tasks.started", {"task": task}, task)
        if roll < 0.8:
            start = self.reported.get(task, 0)
            self.reported[task] = start + 5
            return self.write("events.add_batch", metric_lines(task, start), task)
        return self.write("tasks.ping", {"task": task}, task)

    def write(self, endpoint: str, body: dict[str, Any] | str, task: str | None) -> bool:
        lines = isinstance(body, str)
        write = Write(
            rid=uuid.uuid4().hex,
            endpoint=endpoint,
            content=body if isinstance(body, str) else json.dumps(body),
            content_type=JSON_LINES if lines else JSON,
        )
        send(self.http, write)
        self.ledger.record(write)
        if write.outcome != "ack":
            if task is not None:
                del self.tasks[task]  # its fate is settled after the run
            return False
        if endpoint == "tasks.create":
            self.tasks[write.data["id"]] = "created"
        elif endpoint == "tasks.enqueue":
            self.tasks[task or ""] = "queued"
        elif endpoint == "tasks.started":
            self.tasks[task or ""] = "running"
        return True

    def read(self) -> bool:
        if self.tasks and self.random.random() < 0.5:
            endpoint = "tasks.get_by_id"
            body: dict[str, Any] = {"task": self.random.choice(sorted(self.tasks))}
        else:
            endpoint = "tasks.get_all"
            body = {"page": 0, "page_size": 20, "order_by": ["-last_update"]}
        try:
            ok = self.http.post(f"/{endpoint}", json=body).status_code == 200
        except httpx.HTTPError:
            ok = False
        self.ledger.read(ok)
        return ok
