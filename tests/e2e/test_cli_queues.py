"""`tasktrack queues list/show` and `tasktrack analytics line-waits` as a user drives them:
tables and JSON, refusals as one line and exit 1."""

from __future__ import annotations

import pytest

from tasktrack.api import Client
from tests.e2e.cli import Tt, as_json, company_command, ok


@pytest.fixture
def cli_group() -> str:
    return "queues"


def _line(client: Client) -> tuple[str, list[str]]:
    """A queue `cli-line` with three tasks entered: one handed to worker `cli-box`, one removed
    by bob, one still waiting."""
    queue = str(client.create_queue(name="cli-line")["id"])
    tasks = [str(client.create(name=f"task {i}", type="training")["id"]) for i in range(3)]
    for task in tasks:
        client.enqueue(task=task, queue=queue)
    assert client.get_next_task(queue=queue)["entry"]["task"] == tasks[0]
    client.worker_status_report(worker="cli-box", task=tasks[0], queue=queue)
    client.as_caller(client.caller.company, "bob").dequeue(task=tasks[1])
    return queue, tasks


def test_list_and_show(tt: Tt, client: Client) -> None:
    queue, tasks = _line(client)
    listed = as_json(tt("list", "--json"))["queues"]
    assert {q["name"] for q in listed} >= {"cli-line"}
    (mine,) = [q for q in listed if q["id"] == queue]
    assert [e["task"] for e in mine["entries"]] == [tasks[2]]
    table = ok(tt("list", "--name", "^cli-"))
    assert "cli-line" in table
    assert queue in table

    shown = as_json(tt("show", "cli-line", "--json"))
    assert shown["queue"]["id"] == queue
    assert [e["task"] for e in shown["queue"]["entries"]] == [tasks[2]]
    steps = [(s["what"], s["by"], s.get("task"), s.get("worker")) for s in shown["steps"]]
    assert steps == [
        ("created", "alice", None, None),
        ("entered", "alice", tasks[0], None),
        ("entered", "alice", tasks[1], None),
        ("entered", "alice", tasks[2], None),
        ("handed_out", "alice", tasks[0], "cli-box"),
        ("removed", "bob", tasks[1], None),
    ]
    table = ok(tt("show", queue))
    assert "cli-box" in table
    assert "handed_out" in table
    assert tasks[2] in table
    assert [s["what"] for s in as_json(tt("show", queue, "--limit", "1", "--json"))["steps"]] == [
        "removed"
    ]


def test_line_waits(cli_database: str, company: str, client: Client) -> None:
    _queue, tasks = _line(client)
    analytics = company_command("analytics", cli_database, company)
    waits = as_json(analytics("line-waits", "--queue", "cli-line", "--json"))["waits"]
    assert [(w["task"], w["outcome"], w["worker"]) for w in waits] == [
        (tasks[0], "handed_out", "cli-box"),
        (tasks[1], "removed", None),
        (tasks[2], None, None),
    ]
    table = ok(analytics("line-waits"))
    assert "cli-box" in table
    assert "(waiting)" in table


def test_refusals(tt: Tt, cli_database: str, company: str, client: Client) -> None:
    client.create_queue(name="cli-private")
    for args in (("show", "no-such-queue"),):
        done = tt(*args)
        assert done.returncode == 1
        assert done.stderr.startswith("tasktrack: ")
        assert "no-such-queue" in done.stderr
    stranger = tt("show", "cli-private", company_=company + "-x")
    assert stranger.returncode == 1
    assert "Traceback" not in stranger.stderr
    analytics = company_command("analytics", cli_database, company)
    bad = analytics(
        "line-waits", "--since", "2026-12-02T00:00:00Z", "--until", "2026-12-01T00:00:00Z"
    )
    assert bad.returncode == 1
    assert "since must not be after until" in bad.stderr
