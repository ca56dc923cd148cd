"""A refused request changes nothing: no event, no read model moves (SEMANTICS §6, last line).

Each case builds a task, takes a snapshot (task as read, its status history, the company's event
count and queues), makes one refused call, and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tests.integration.task_commands_support import (
    UNKNOWN_ID,
    expect_error,
    snapshot,
    task_in,
)

Refusal = tuple[str, Callable[[Client, str], Any], tuple[int, int]]

CASES: list[Refusal] = [
    ("created", lambda c, t: c.completed(task=t), (400, 110)),
    ("created", lambda c, t: c.failed(task=t), (400, 110)),
    ("created", lambda c, t: c.publish(task=t), (400, 110)),
    ("in_progress", lambda c, t: c.close_task(task=t), (400, 110)),
    ("in_progress", lambda c, t: c.enqueue(task=t, queue_name="fresh"), (400, 110)),
    ("published", lambda c, t: c.started(task=t), (400, 110)),
    ("published", lambda c, t: c.reset(task=t), (400, 110)),
    ("published", lambda c, t: c.enqueue(task=t, queue_name="never-made"), (400, 110)),
    ("in_progress", lambda c, t: c.edit(task=t, comment="nope"), (400, 110)),
    ("in_progress", lambda c, t: c.delete(task=t), (400, 123)),
    ("stopped", lambda c, t: c.update(task=t, name=" ab "), (400, 800)),
    ("created", lambda c, t: c.edit(task=t, name="ab"), (400, 800)),
    ("created", lambda c, t: c.enqueue(task=t, queue=UNKNOWN_ID), (400, 701)),
    ("queued", lambda c, t: c.enqueue(task=t, queue_name="support-q"), (400, 706)),
    ("created", lambda c, t: c.enqueue(task=t, queue="x", queue_name="y"), (400, 12)),
    (
        "created",
        lambda c, t: c.delete_hyper_params(
            task=t, hyperparams=[{"section": "s"}, {"section": "s", "name": "n"}]
        ),
        (400, 15),
    ),
    (
        "completed",
        lambda c, t: c.add_or_update_artifacts(
            task=t, artifacts=[{"key": "k", "type": "t"}], force=True
        ),
        (400, 110),
    ),
    (
        "stopped",
        lambda c, t: c.add_or_update_model(task=t, name="m", model="m1", type="input"),
        (400, 110),
    ),
    (
        "stopped",
        lambda c, t: c.edit_configuration(task=t, configuration=[{"name": "c"}], force=True),
        (400, 110),
    ),
    ("created", lambda c, t: c.clone(task=t, new_task_name="no"), (400, 800)),
]


@pytest.mark.parametrize(
    ("status", "call", "code"),
    CASES,
    ids=[f"{i:02d}-{status}-{code[0]}.{code[1]}" for i, (status, _, code) in enumerate(CASES)],
)
def test_a_refused_call_changes_nothing(
    client: Client,
    engine: Engine,
    status: str,
    call: Callable[[Client, str], Any],
    code: tuple[int, int],
) -> None:
    t = task_in(client, status, tags=["t"], hyperparams={"s": {"n": {"value": "1"}}})
    before = snapshot(client, engine, [t])
    expect_error(code, call, client, t)
    assert snapshot(client, engine, [t]) == before
    assert [v.id for v in client.get_all(search_hidden=True)] == [t]


def test_leaving_unknown_needs_force(client: Client, engine: Engine) -> None:
    """SEMANTICS §2 deviation: a change away from `unknown` without force is 400/110."""
    t = task_in(client, "created")
    client.edit(task=t, status="unknown", force=True)
    assert client.get_by_id(t).status == "unknown"
    assert client.get_status_history(t)[-1].to_status == "unknown"
    before = snapshot(client, engine, [t])
    for refused in (client.started, client.stopped, client.failed, client.close_task):
        expect_error((400, 110), refused, task=t)
    assert snapshot(client, engine, [t]) == before
    client.started(task=t, force=True)
    assert client.get_by_id(t).status == "in_progress"


def test_a_many_call_that_fails_everywhere_writes_nothing(client: Client, engine: Engine) -> None:
    ids = [task_in(client, "published", name=f"done {i}") for i in range(2)]
    before = snapshot(client, engine, ids)
    result = client.reset_many(ids=[*ids, UNKNOWN_ID])
    assert result["succeeded"] == []
    assert [f["error"]["codes"] for f in result["failed"]] == [[400, 110], [400, 110], [400, 101]]
    assert snapshot(client, engine, ids) == before
