"""Builders for pure domain tests: tasks in any status, contexts, and decide-then-fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec import UNSET, structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import editing
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.decide import decide
from tasktrack.domain.errors import DomainError
from tasktrack.domain.evolve import fold
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import (
    Artifact,
    ConfigItem,
    Execution,
    ModelItem,
    ParamItem,
    Script,
    TaskModels,
)

COMPANY = "acme"
CREATOR = "bob"
USER = "alice"
TASK_ID = "0123456789abcdef0123456789abcdef"
T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)

STATUSES: tuple[str, ...] = (
    "created",
    "queued",
    "in_progress",
    "stopped",
    "published",
    "publishing",
    "closed",
    "failed",
    "completed",
    "unknown",
)


def ctx(now: datetime = T1, user: str = USER, company: str = COMPANY) -> Context:
    return Context(now=now, user=user, company=company)


def new_task(**fields: Any) -> TaskState:
    """A task as `create` makes it at T0 by CREATOR (name and type defaulted)."""
    fields.setdefault("name", "a task")
    fields.setdefault("type", "training")
    events = editing.create(cmd.CreateTask(**fields), ctx(T0, CREATOR), TASK_ID)
    state = fold(events)
    assert state is not None
    return state


def task_in(status: str, **fields: Any) -> TaskState:
    """A created task moved to `status` by hand (not through the rules under test).

    A queued task sits in queue "q1", enqueued from created. Status fields are set at T0 by
    CREATOR with an old reason and message, so a later change can be seen to overwrite them.
    """
    state = new_task()
    preset: dict[str, Any] = {
        "status": status,
        "status_reason": "old reason",
        "status_message": "old message",
        "status_changed": T0,
        "last_update": T0,
        "last_change": T0,
        "last_changed_by": CREATOR,
    }
    if status == "queued":
        preset["execution"] = Execution(queue="q1")
        preset["enqueue_status"] = "created"
    preset.update(fields)
    return structs.replace(state, **preset)


def run(
    state: TaskState, command: cmd.Command, context: Context | None = None
) -> tuple[list[ev.AnyEvent], TaskState]:
    """Decide, then fold the events onto the state: what the service does, minus storage."""
    events = decide(state, command, context or ctx())
    after = fold(events, state)
    assert after is not None
    return events, after


def moves(events: list[ev.AnyEvent]) -> list[tuple[str, str]]:
    """The (from, to) status changes the events record, in order."""
    found: list[tuple[str, str]] = []
    for event in events:
        change = ev.status_change(event)
        if change is not None:
            found.append((change.from_status, change.to_status))
    return found


def refused(
    state: TaskState, command: cmd.Command, code: int, subcode: int, context: Context | None = None
) -> DomainError:
    """Assert the command is refused with code/subcode, and return the error."""
    with pytest.raises(DomainError) as info:
        decide(state, command, context or ctx())
    assert (info.value.code, info.value.subcode) == (code, subcode), info.value.message
    return info.value


def empty(value: Any) -> bool:
    """Cleared: absent, None, or an empty collection."""
    return value is None or value is UNSET or value in ([], {}, "")


def full_task(status: str = "stopped") -> TaskState:
    """A task with every field set: input and output models and artifacts, script, runtime,
    output result/error/destination, a queue, run times and a worker."""
    state = new_task(
        name="full task",
        comment="a comment",
        tags=["t1", "t2"],
        system_tags=["archived", "development", "sys"],
        parent="p" * 32,
        project="proj-1",
        output_dest="s3://bucket/out",
        execution=Execution(
            parameters={"p": 1},
            framework="pytorch",
            docker_cmd="python:3.11",
            artifacts=[
                Artifact(key="in-art", type="csv", mode="input"),
                Artifact(key="out-art", type="csv", mode="output"),
            ],
        ),
        script=Script(repository="git@host:repo", branch="main", entry_point="train.py"),
        hyperparams={"Args": {"lr": ParamItem(value="0.1")}},
        configuration={"General": ConfigItem(value="{}")},
        models=TaskModels(
            input=[ModelItem(name="base", model="m-in")],
            output=[ModelItem(name="final", model="m-out")],
        ),
        container={"image": "python:3.11"},
        runtime={"gpu": "A100"},
    )
    assert state.execution is not None
    assert state.output is not None
    return structs.replace(
        state,
        status=status,
        execution=structs.replace(state.execution, queue="q1"),
        output=structs.replace(state.output, result="ok", error="boom"),
        started=T0,
        completed=T0,
        published=T0,
        active_duration=3600,
        last_worker="worker-1",
        last_worker_report=T0,
        last_iteration=42,
        enqueue_status="created",
        status_reason="old reason",
        status_message="old message",
        status_changed=T0,
    )


def artifact_ids(state: TaskState) -> list[tuple[str, str]]:
    """(key, mode) of the task's artifacts, sorted."""
    execution = state.execution
    if execution is None or execution.artifacts is UNSET:
        return []
    return sorted((a.key, a.mode) for a in execution.artifacts)


def model_names(state: TaskState, kind: str) -> dict[str, str]:
    """name -> model id of the task's input or output models."""
    items = getattr(state.models, kind) if state.models is not None else UNSET
    return {} if items is UNSET else {m.name: m.model for m in items}
