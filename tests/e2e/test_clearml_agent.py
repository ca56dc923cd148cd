"""The real clearml-agent runs tasks from tasktrack's queues (issue 17): `clearml-agent daemon
--queue` pulls an SDK-made task, runs it, and ends it; `clearml-agent execute --id` runs one;
`tasks.stop` makes the agent stop a running task. Every run is bounded in time."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.e2e.agent import Agent, wait_for
from tests.e2e.http import Api
from tests.e2e.sdk import SCRIPTS, Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


@pytest.fixture
def sdk(server: str, new_caller: Callable[..., Api], tmp_path: Path) -> Sdk:
    sdk = Sdk(server, new_caller(user="agent-user"), tmp_path, subprocess_reporting=False)
    shutil.copyfile(SCRIPTS / "agent_job.py", tmp_path / "agent_job.py")
    return sdk


@pytest.fixture
def agent(sdk: Sdk) -> Agent:
    return Agent(sdk)


def _job(sdk: Sdk, queue: str, gate: str = "", fail: bool = False) -> str:
    """An SDK-made task running agent_job.py, enqueued to `queue` ("-": not enqueued)."""
    done, task_id = sdk.run("agent_enqueue.py", queue, gate, "1" if fail else "0")
    assert done.returncode == 0, done.stderr
    return task_id


def _statuses(sdk: Sdk, task_id: str) -> list[str]:
    """The task's statuses in order, a repeated one (the agent's many tasks.started) once."""
    seen = ["created"]
    for entry in sdk.api.ok("tasks.get_status_history", {"task": task_id})["history"]:
        if entry["to_status"] != seen[-1]:
            seen.append(entry["to_status"])
    return seen


def _status(sdk: Sdk, task_id: str) -> str:
    return str(sdk.task(task_id)["status"])


def _ended(sdk: Sdk, task_id: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        status = _status(sdk, task_id)
        return status if status in ("completed", "failed", "stopped") else None

    return probe


def _log(sdk: Sdk, task_id: str) -> str:
    events = sdk.api.ok("events.get_task_log", {"task": task_id, "batch_size": 10000})["events"]
    return "".join(e["msg"] for e in events)


def _queue(sdk: Sdk, name: str) -> dict[str, Any]:
    (queue,) = sdk.api.ok("queues.get_all", {"name": f"^{name}$"})["queues"]
    return dict(queue)


def _stream(engine: Engine, where: str, value: str) -> list[dict[str, Any]]:
    """Events of the log matching `where` (bound to :id), in log order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT data FROM events WHERE {where} ORDER BY position"), {"id": value}
        ).scalars()
        return [dict(row) for row in rows]


def test_the_daemon_runs_an_enqueued_task_to_completed(
    sdk: Sdk, agent: Agent, e2e_engine: Engine
) -> None:
    gate = sdk.home / "gate"
    task_id = _job(sdk, "default", gate=str(gate))
    assert _status(sdk, task_id) == "queued"
    queue = _queue(sdk, "default")
    assert [e["task"] for e in queue["entries"]] == [task_id]
    with agent.daemon("default") as output:
        # While the job waits at its gate, the worker is live and says it runs the task.
        worker = wait_for(
            f"worker {agent.worker} running {task_id} (daemon output: {output})",
            lambda: (w := agent.running()) and (w.get("task") or {}).get("id") == task_id and w,
        )
        assert [q["id"] for q in worker["queues"]] == [queue["id"]]
        assert _status(sdk, task_id) == "in_progress"
        assert _queue(sdk, "default")["entries"] == []
        gate.touch()
        assert wait_for("the task to end", _ended(sdk, task_id)) == "completed", output.read_text()
    task = sdk.task(task_id)
    assert _statuses(sdk, task_id) == ["created", "queued", "in_progress", "completed"]
    assert task["last_worker"] == agent.worker
    log = _log(sdk, task_id)
    assert "hello from the agent job" in log
    assert "through the gate" in log
    assert f"pulled from {queue['id']} by worker {agent.worker}" in log
    assert sdk.series(task_id, "loss", "train") == ([0, 1, 2], [10.0, 9.0, 8.0])
    # Its parameters came from the task, not from the script's defaults.
    assert task["hyperparams"]["General"]["gate"]["value"] == str(gate)
    # The queue's stream: the SDK user enqueued it; the task's stream: it was handed out from
    # that queue; the worker's stream says the daemon's worker took it from that queue.
    stream = _stream(e2e_engine, "stream_id = :id", queue["id"])
    assert [(e["event"], e.get("task"), e["by"]) for e in stream] == [
        ("QueueCreated", None, "agent-user"),
        ("QueueTaskAdded", task_id, "agent-user"),
    ]
    handed = _stream(e2e_engine, "type = 'TaskHandedOut' AND stream_id = :id", task_id)
    assert [(e["queue"], e["by"]) for e in handed] == [(queue["id"], "agent-user")]
    taken = _stream(e2e_engine, "type = 'WorkerTookTask' AND data->>'task' = :id", task_id)
    assert [(e["worker"], e["queue"]) for e in taken] == [(agent.worker, queue["id"])]
    # Stopped with SIGTERM, the daemon unregistered its worker.
    assert agent.running() is None


def test_a_script_that_calls_execute_remotely_is_run_by_the_daemon(sdk: Sdk, agent: Agent) -> None:
    sdk.api.ok("queues.create", {"name": "remote-cpu"})
    done, task_id = sdk.run("agent_remote.py", "remote-cpu")
    assert done.returncode == 0, done.stderr
    assert "running under the agent" not in done.stdout  # it stopped at execute_remotely
    assert _status(sdk, task_id) == "queued"
    with agent.daemon("remote-cpu") as output:
        assert wait_for("the task to end", _ended(sdk, task_id)) == "completed", output.read_text()
    assert "running under the agent" in _log(sdk, task_id)
    assert sdk.metric(task_id, "acc", "val")["value"] == 0.75
    assert sdk.task(task_id)["last_worker"] == agent.worker


def test_execute_by_id_runs_a_task_and_a_failing_one_ends_failed(sdk: Sdk, agent: Agent) -> None:
    good = _job(sdk, "-")
    done = agent.execute(good)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _status(sdk, good) == "completed"
    assert "hello from the agent job" in _log(sdk, good)

    bad = _job(sdk, "-", fail=True)
    done = agent.execute(bad)
    assert _status(sdk, bad) == "failed", done.stdout + done.stderr
    assert _statuses(sdk, bad)[-2:] == ["in_progress", "failed"]
    assert "the agent job failed on purpose" in _log(sdk, bad)
    assert sdk.series(bad, "loss", "train") == ([0, 1, 2], [10.0, 9.0, 8.0])


def test_tasks_stop_makes_the_agent_stop_its_task(sdk: Sdk, agent: Agent) -> None:
    gate = sdk.home / "never-opened"
    task_id = _job(sdk, "default", gate=str(gate))
    with agent.daemon("default") as output:
        wait_for(
            f"worker {agent.worker} running {task_id}",
            lambda: (w := agent.running()) and (w.get("task") or {}).get("id") == task_id,
        )
        # Once the job itself runs (its console line arrived): stopping earlier would race the
        # agent's own start-up calls (tasks.started with force resets the status message, in
        # ClearML too).
        wait_for("the job's console line", lambda: "hello from the agent job" in _log(sdk, task_id))
        sdk.api.ok("tasks.stop", {"task": task_id})
        assert wait_for("the task to end", _ended(sdk, task_id), timeout=60) == "stopped", (
            output.read_text()
        )
    assert not gate.exists()
    assert "through the gate" not in _log(sdk, task_id)
    assert _statuses(sdk, task_id)[-2:] == ["in_progress", "stopped"]
