"""Helpers of the task-command tests: tasks driven into a status, and what the log holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from msgspec import UNSET
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError, TaskNotFound
from tasktrack.queries.views import StatusHistoryEntry, TaskView

UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


def new_task(client: Client, name: str = "a task", **kw: Any) -> str:
    return str(client.create(name=name, type=kw.pop("type", "training"), **kw)["id"])


def task_in(client: Client, status: str, **kw: Any) -> str:
    """A new task brought to `status` by the ordinary endpoints (no force)."""
    t = new_task(client, **kw)
    if status == "created":
        return t
    if status == "queued":
        client.enqueue(task=t, queue_name="support-q")
        return t
    client.started(task=t)
    if status == "in_progress":
        return t
    if status in ("stopped", "closed"):
        client.stopped(task=t)
        if status == "closed":
            client.close_task(task=t)
    elif status == "completed":
        client.completed(task=t)
    elif status == "failed":
        client.failed(task=t)
    elif status == "published":
        client.completed(task=t, publish=True)
    else:
        raise ValueError(status)
    assert client.get_by_id(t).status == status
    return t


def queue_of(view: TaskView) -> str | None:
    """`execution.queue` of a task, None when absent or empty."""
    if view.execution is None or view.execution.queue is UNSET:
        return None
    return view.execution.queue or None


def codes(exc: DomainError) -> tuple[int, int]:
    return (exc.code, exc.subcode)


def event_count(engine: Engine, company: str) -> int:
    """Events of the company in the log (tasks and queues alike)."""
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM events WHERE company = %s", (company,)
            ).scalar_one()
        )


def stream_types(engine: Engine, stream_id: str) -> list[str]:
    """The event types of one stream, in stream order."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT type FROM events WHERE stream_id = %s ORDER BY stream_version", (stream_id,)
        )
        return [r[0] for r in rows]


def queue_rows(engine: Engine, company: str) -> list[tuple[str, str]]:
    """(name, id) of the company's queues, by name."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, id FROM queues WHERE company = %s ORDER BY name, id", (company,)
        )
        return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused request must leave as it was."""

    tasks: dict[str, TaskView | None]
    histories: dict[str, list[StatusHistoryEntry] | None]
    events: int
    queues: list[tuple[str, str]]


def snapshot(client: Client, engine: Engine, ids: list[str]) -> Snapshot:
    tasks: dict[str, TaskView | None] = {}
    histories: dict[str, list[StatusHistoryEntry] | None] = {}
    for t in ids:
        try:
            tasks[t] = client.get_by_id(t)
            histories[t] = client.get_status_history(t)
        except TaskNotFound:
            tasks[t] = histories[t] = None
    company = client.caller.company
    return Snapshot(tasks, histories, event_count(engine, company), queue_rows(engine, company))


def expect_error(code: tuple[int, int], call: Any, /, *args: Any, **kw: Any) -> DomainError:
    """Call and require a DomainError with exactly these code and subcode."""
    with pytest.raises(DomainError) as caught:
        call(*args, **kw)
    assert codes(caught.value) == code, caught.value
    return caught.value


def failed_ids(result: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(f["id"], f["error"]["codes"]) for f in result["failed"]]


def succeeded_ids(result: dict[str, Any]) -> list[str]:
    return [s["id"] for s in result["succeeded"]]
