"""Model-based test: random command sequences on a few tasks, the service held to tests/model.py.

After every step each task's read model and status history must be what the model (written from
SEMANTICS §2) says, every refused command must leave every read model as it was, and the task's
timestamps must never go backwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError, TaskNotFound
from tasktrack.queries.views import StatusHistoryEntry, TaskView
from tasktrack.service import Caller, TaskService
from tests.model import DEVELOPMENT, Change, Model, Outcome, Task, Unfixed, match_history

USER = "alice"
MAX_TASKS = 4  # alive at once
MAX_CREATED = 8
UNKNOWN_ID = "feedfacefeedfacefeedfacefeedface"  # never created
QUEUES = ("gpu", "cpu")
RUNTIME = {"device": "gpu0"}  # every task is created with it; reset clears it
ON_UNKNOWN = (
    "started",
    "stop",
    "enqueue",
    "dequeue",
    "reset",
    "publish",
    "delete",
    "ping",
    "archive",
    "unarchive",
    "edit_status",
)

# Shrinking a failure replays hundreds of sequences against PostgreSQL (minutes, past pytest's
# timeout), so it is off unless TASKTRACK_MODEL_SHRINK=1 asks for the shortest sequence (run
# that with --timeout=0).
SHRINK = os.environ.get("TASKTRACK_MODEL_SHRINK") == "1"
SETTINGS = settings(
    max_examples=75,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[phase for phase in Phase if SHRINK or phase is not Phase.shrink],
)

T = TypeVar("T")

forces = st.sampled_from([False, False, True])
reasons = st.one_of(st.none(), st.sampled_from(["", "why", "because"]))
messages = st.one_of(st.none(), st.sampled_from(["", "note", "said so"]))


@dataclass(frozen=True)
class Seen:
    """What the last check observed of a task."""

    view: TaskView
    history: list[StatusHistoryEntry]
    resets: int
    recomputed: int


def _texts(reason: str | None, message: str | None) -> dict[str, Any]:
    """status_reason and status_message as sent: None leaves the field out of the request."""
    named = {"status_reason": reason, "status_message": message}
    return {name: value for name, value in named.items() if value is not None}


def _request(task: str, force: bool, reason: str | None, message: str | None) -> dict[str, Any]:
    return {"task": task, "force": force, **_texts(reason, message)}


def _fix(expected: T | Unfixed, seen: T, what: str) -> T:
    """The expected value, checked; or, where the model leaves it open, the seen one."""
    if isinstance(expected, Unfixed):
        return seen
    assert seen == expected, f"{what}: service has {seen!r}, model says {expected!r}"
    return expected


def _rows(history: list[StatusHistoryEntry]) -> list[Change]:
    return [
        Change(h.from_status, h.to_status, h.reason, h.message, h.force, h.user) for h in history
    ]


def _show(rows: list[Change]) -> str:
    return "\n".join(
        f"  {r.from_status}->{r.to_status} reason={r.reason!r} message={r.message!r} "
        f"force={r.force!r}{' (optional)' if r.optional else ''}"
        for r in rows
    )


class TaskMachine(RuleBasedStateMachine):
    """A few tasks of one fresh company, driven through the Python API."""

    tasks = Bundle("tasks")

    def __init__(self, engine: Engine, service: TaskService) -> None:
        super().__init__()
        caller = Caller(company=f"model-{uuid.uuid4().hex[:12]}", user=USER)
        self.client = Client(engine, caller, service)
        self.model = Model(USER)
        self.queue_ids: dict[str, str] = {}  # queue name -> the id the service gave it
        self.seen: dict[str, Seen] = {}

    # --- running a command -----------------------------------------------------------------

    def _run(
        self,
        outcome: Outcome,
        command: Callable[[], dict[str, Any]],
        answer: Callable[[dict[str, Any]], dict[str, Any]] = lambda result: result,
    ) -> None:
        refusal: DomainError | None = None
        try:
            result = command()
        except DomainError as exc:
            refusal = exc
        if refusal is not None:
            assert refusal.codes in outcome.errors, (
                f"refused with {refusal.codes} ({refusal.message}); the model expected "
                + (f"one of {sorted(outcome.errors)} or " if outcome.errors else "")
                + ("success" if outcome.may_succeed else "nothing else")
            )
            self._check_nothing_changed()
            return
        assert outcome.may_succeed, (
            f"succeeded ({result}); the model expected a refusal {sorted(outcome.errors)}"
        )
        shown = answer(result)
        for key, value in outcome.result.items():
            assert shown.get(key) == value, f"answer {key}: {shown.get(key)!r}, expected {value!r}"
        if outcome.changes_nothing:
            self._check_nothing_changed()
        outcome.effect()

    def _check_nothing_changed(self) -> None:
        """A rejected request (or a no-op) changes nothing: no event, no read model moves."""
        for task_id, seen in self.seen.items():
            if task_id in self.model.tasks:
                assert self.client.get_by_id(task_id) == seen.view, f"{task_id} moved"
                assert self.client.get_status_history(task_id) == seen.history

    def _create(self, development: bool, parent: str | None = None) -> str:
        system_tags = [DEVELOPMENT] if development else []
        extra: dict[str, Any] = {"system_tags": system_tags} if development else {}
        if parent is not None:
            extra["parent"] = parent
        task_id = str(
            self.client.create(name="modelled task", type="training", runtime=RUNTIME, **extra)[
                "id"
            ]
        )
        self.model.create(task_id, system_tags, parent)
        return task_id

    # --- rules -----------------------------------------------------------------------------

    @initialize(target=tasks, development=st.booleans())
    def first_task(self, development: bool) -> str:
        return self._create(development)

    @precondition(
        lambda self: (
            len(self.model.tasks) < MAX_TASKS
            and len(self.model.tasks) + len(self.model.deleted) < MAX_CREATED
        )
    )
    @rule(target=tasks, development=st.booleans(), parent=st.one_of(st.none(), tasks))
    def create(self, development: bool, parent: str | None) -> str:
        """A child's parent becomes __DELETED__<id> when the parent is deleted."""
        return self._create(development, parent)

    def _mark(
        self, endpoint: str, task: str, force: bool, reason: str | None, message: str | None
    ) -> None:
        """started, stopped, failed, close: one status change by the table."""
        decide = {
            "started": self.model.started,
            "stopped": self.model.stopped,
            "failed": self.model.failed,
            "close_task": self.model.close,
        }[endpoint]
        send = getattr(self.client, endpoint)
        fields = _request(task, force, reason, message)
        outcome = decide(task, force=force, reason=reason, message=message)
        self._run(outcome, lambda: send(**fields))

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def started(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        self._mark("started", task, force, reason, message)

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def stopped(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        self._mark("stopped", task, force, reason, message)

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def failed(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        self._mark("failed", task, force, reason, message)

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def close(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        self._mark("close_task", task, force, reason, message)

    @rule(
        task=tasks,
        force=forces,
        reason=reasons,
        message=messages,
        publish=st.sampled_from([False, False, True]),
    )
    def completed(
        self, task: str, force: bool, reason: str | None, message: str | None, publish: bool
    ) -> None:
        fields = {**_request(task, force, reason, message), "publish": publish}
        outcome = self.model.completed(
            task, force=force, reason=reason, message=message, publish=publish
        )
        self._run(outcome, lambda: self.client.completed(**fields))

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def stop(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        fields = _request(task, force, reason, message)
        self._run(
            self.model.stop(task, force=force, reason=reason), lambda: self.client.stop(**fields)
        )

    @rule(
        task=tasks,
        queue=st.sampled_from(QUEUES),
        how=st.sampled_from(["name", "name", "id", "missing", "both"]),
        force=forces,
        reason=reasons,
        message=messages,
    )
    def enqueue(
        self,
        *,
        task: str,
        queue: str,
        how: str,
        force: bool,
        reason: str | None,
        message: str | None,
    ) -> None:
        if how == "id" and queue not in self.queue_ids:
            how = "name"
        fields = _request(task, force, reason, message)
        if how in ("name", "both"):
            fields["queue_name"] = queue
        if how == "id":
            fields["queue"] = self.queue_ids[queue]
        if how in ("missing", "both"):
            fields["queue"] = "no-such-queue-" + uuid.uuid4().hex[:8]
        outcome = self.model.enqueue(
            task, queue, force=force, reason=reason, message=message, how=how
        )
        self._run(outcome, lambda: self.client.enqueue(**fields))

    @rule(
        task=tasks,
        new_status=st.sampled_from([None, None, "created", "failed", "closed"]),
        reason=reasons,
        message=messages,
    )
    def dequeue(
        self, task: str, new_status: str | None, reason: str | None, message: str | None
    ) -> None:
        fields = _request(task, False, reason, message)
        if new_status is not None:
            fields["new_status"] = new_status
        outcome = self.model.dequeue(task, new_status=new_status, reason=reason, message=message)
        self._run(outcome, lambda: self.client.dequeue(**fields))

    @rule(task=tasks, force=forces, reason=reasons, clear_all=st.booleans())
    def reset(self, task: str, force: bool, reason: str | None, clear_all: bool) -> None:
        fields = {**_request(task, force, reason, None), "clear_all": clear_all}
        self._run(self.model.reset(task, force=force), lambda: self.client.reset(**fields))

    @rule(task=tasks, force=forces, reason=reasons, message=messages)
    def publish(self, task: str, force: bool, reason: str | None, message: str | None) -> None:
        fields = _request(task, force, reason, message)
        outcome = self.model.publish(task, force=force, reason=reason, message=message)
        self._run(outcome, lambda: self.client.publish(**fields))

    @rule(
        ids=st.lists(tasks, max_size=3, unique=True),
        unknown=st.booleans(),
        reason=reasons,
        message=messages,
    )
    def archive(
        self, ids: list[str], unknown: bool, reason: str | None, message: str | None
    ) -> None:
        ids = [*ids, UNKNOWN_ID] if unknown or not ids else ids
        fields = _texts(reason, message)
        outcome = self.model.archive(ids, reason=reason, message=message)
        self._run(outcome, lambda: self.client.archive(tasks=ids, **fields))

    @rule(
        ids=st.lists(tasks, max_size=3, unique=True),
        unknown=st.booleans(),
        reason=reasons,
        message=messages,
    )
    def unarchive(
        self, ids: list[str], unknown: bool, reason: str | None, message: str | None
    ) -> None:
        ids = [*ids, UNKNOWN_ID] if unknown or not ids else ids
        fields = _texts(reason, message)

        def answer(result: dict[str, Any]) -> dict[str, Any]:
            for failure in result["failed"]:
                assert failure["error"]["codes"] == [400, 101], failure
            return {
                "succeeded_ids": [s["id"] for s in result["succeeded"]],
                "failed_ids": [f["id"] for f in result["failed"]],
            }

        outcome = self.model.unarchive(ids, reason=reason, message=message)
        self._run(outcome, lambda: self.client.unarchive_many(ids=ids, **fields), answer)

    @rule(target=tasks, task=consumes(tasks), force=forces)
    def delete(self, task: str, force: bool) -> str | MultipleResults[str]:
        """A deleted task leaves the bundle; `on_unknown_task` sends commands to it."""
        outcome = self.model.delete(task, force=force)
        self._run(outcome, lambda: self.client.delete(task=task, force=force))
        return multiple() if task in self.model.deleted else task

    @rule(data=st.data(), command=st.sampled_from(ON_UNKNOWN))
    def on_unknown_task(self, data: st.DataObject, command: str) -> None:
        """A deleted or never created task is unknown to every command (400/101; ping ignores
        it; the batch commands list it as failed)."""
        task = data.draw(st.sampled_from([UNKNOWN_ID, *sorted(self.model.deleted)]), label="id")
        send: dict[str, Callable[[], None]] = {
            "started": lambda: self._mark("started", task, False, None, None),
            "stop": lambda: self.stop(task=task, force=True, reason=None, message=None),
            "enqueue": lambda: self.enqueue(
                task=task, queue="gpu", how="name", force=True, reason=None, message=None
            ),
            "dequeue": lambda: self.dequeue(task=task, new_status=None, reason=None, message=None),
            "reset": lambda: self.reset(task=task, force=True, reason=None, clear_all=False),
            "publish": lambda: self.publish(task=task, force=True, reason=None, message=None),
            "delete": lambda: self._run(
                self.model.delete(task, force=True),
                lambda: self.client.delete(task=task, force=True),
            ),
            "ping": lambda: self.ping(task=task),
            "archive": lambda: self.archive(ids=[task], unknown=False, reason=None, message=None),
            "unarchive": lambda: self.unarchive(
                ids=[task], unknown=False, reason=None, message=None
            ),
            "edit_status": lambda: self.edit_status(task=task, status="created"),
        }
        send[command]()

    @rule(task=tasks)
    def ping(self, task: str) -> None:
        self._run(self.model.ping(task), lambda: self.client.ping(task=task))

    @rule(task=tasks)
    def worker_report(self, task: str) -> None:
        if task not in self.model.tasks:  # a report about a deleted task: not in the contract
            return
        outcome = self.model.worker_report(task)
        self._run(outcome, lambda: self.client.worker_status_report(worker="worker-1", task=task))

    @rule(
        task=tasks,
        status=st.sampled_from(["unknown", "publishing", "created", "failed", "closed", "queued"]),
    )
    def edit_status(self, task: str, status: str) -> None:
        outcome = self.model.edit_status(task, status)
        self._run(outcome, lambda: self.client.edit(task=task, force=True, status=status))

    # --- the comparison ----------------------------------------------------------------------

    @invariant()
    def service_matches_model(self) -> None:
        for task_id, task in self.model.tasks.items():
            self._check_task(task_id, task)
        for task_id in self.model.deleted:
            with pytest.raises(TaskNotFound):
                self.client.get_by_id(task_id)

    def _check_task(self, task_id: str, task: Task) -> None:
        view = self.client.get_by_id(task_id)
        history = self.client.get_status_history(task_id)
        assert view.status == task.status, f"status {view.status}, model says {task.status}"
        task.status_reason = _fix(task.status_reason, view.status_reason, "status_reason")
        task.status_message = _fix(task.status_message, view.status_message, "status_message")
        task.enqueue_status = _fix(task.enqueue_status, view.enqueue_status, "enqueue_status")
        assert view.system_tags == sorted(task.system_tags), "system_tags"
        self._check_queue(task, view)
        task.started = _fix(task.started, view.started is not None, "started is set")
        task.completed = _fix(task.completed, view.completed is not None, "completed is set")
        task.published = _fix(task.published, view.published is not None, "published is set")
        assert view.last_changed_by == USER
        assert view.parent == task.parent, f"parent {view.parent}, model says {task.parent}"
        live = task.live_worker
        assert (view.last_worker is not None) == live, f"last_worker {view.last_worker!r}"
        assert (view.last_worker_report is not None) == live, "last_worker_report"
        assert (view.active_duration is not None) == task.active_duration, "active_duration"
        assert bool(view.runtime) == task.runtime, f"runtime {view.runtime!r}"
        if task.resets:
            assert view.last_iteration == 0, "reset sets last_iteration to 0"

        fitted = match_history(task.history, _rows(history))
        assert fitted is not None, (
            f"status history of {task_id}:\nservice:\n{_show(_rows(history))}\n"
            f"model:\n{_show(task.history)}"
        )
        task.history = fitted

        prev = self.seen.get(task_id)
        self._check_times(view, history, prev, task)
        task.refreshed = task.changed = False
        self.seen[task_id] = Seen(view, history, task.resets, task.recomputed)

    def _check_queue(self, task: Task, view: TaskView) -> None:
        """execution.queue is set iff the model has the task in a queue (Deviation: tasktrack
        clears it when the task leaves); queue names map one-to-one to the ids given them."""
        queue = view.execution.queue if view.execution is not None else None
        seen = queue if isinstance(queue, str) else None
        assert not isinstance(task.queue, Unfixed)
        if task.queue is None:
            assert seen is None, f"execution.queue {seen!r}, but the model has it in no queue"
            return
        assert seen is not None, f"execution.queue unset, but the model has it in {task.queue}"
        known = self.queue_ids.get(task.queue)
        if known is None:
            assert seen not in self.queue_ids.values(), f"{seen} names two queues"
            self.queue_ids[task.queue] = seen
        else:
            assert seen == known, f"execution.queue {seen}, the model has it in {task.queue}"

    def _check_times(
        self, view: TaskView, history: list[StatusHistoryEntry], prev: Seen | None, task: Task
    ) -> None:
        ats = [h.at for h in history]
        assert ats == sorted(ats), "history times go backwards"
        for name in ("started", "completed", "published", "status_changed", "last_update"):
            stamp: datetime | None = getattr(view, name)
            assert stamp is None or stamp >= view.created, f"{name} before created"
        assert not ats or ats[0] >= view.created
        for older, newer in itertools.pairwise(history):
            assert newer.version > older.version
            assert newer.position > older.position
        if history:
            assert view.status_changed == history[-1].at, "status_changed is not the last change"
        if view.status_changed is not None:
            assert view.last_update is not None
            assert view.last_change is not None
            assert view.last_update >= view.status_changed
            assert view.last_change >= view.status_changed
        if prev is None:
            return
        assert view.created == prev.view.created
        assert history[: len(prev.history)] == prev.history, "the status history was rewritten"
        for name in ("last_update", "last_change", "status_changed"):
            before: datetime | None = getattr(prev.view, name)
            now: datetime | None = getattr(view, name)
            if before is not None:
                assert now is not None, f"{name} was unset"
                assert now >= before, f"{name} went backwards: {before} -> {now}"
        if len(history) > len(prev.history) and prev.view.last_update is not None:
            assert history[len(prev.history)].at >= prev.view.last_update
        if prev.view.started is not None and prev.resets == task.resets:
            assert view.started == prev.view.started, "started changed without a reset"
        if prev.recomputed == task.recomputed and prev.resets == task.resets:
            assert view.active_duration == prev.view.active_duration, "active_duration moved"
        if task.refreshed:
            assert prev.view.last_update is not None
            assert view.last_update is not None
            assert view.last_update > prev.view.last_update, "last_update was not refreshed"
        if task.changed:
            assert prev.view.last_change is not None
            assert view.last_change is not None
            assert view.last_change > prev.view.last_change, "last_change was not written"


# Sequences the machine found where the service contradicts SEMANTICS, replayed on every run
# (random exploration finds them only now and then). Each step: a rule and its arguments, on the
# task made by `first_task`.
FOUND: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # §2 enqueue "a task already in that very queue is refused with 400/706" and the Deviation
    # "[execution.queue] always names the queue the task is in", cleared only on dequeue, stop or
    # archive of a queued task and reset: after `stopped` the field still names gpu, yet a second
    # enqueue into gpu succeeds.
    "enqueue-into-the-queue-execution.queue-names": [
        ("enqueue", {"queue": "gpu", "how": "name", "force": False}),
        ("stopped", {"force": False}),
        ("enqueue", {"queue": "gpu", "how": "name", "force": False}),
    ],
}


@pytest.mark.parametrize("steps", list(FOUND.values()), ids=list(FOUND))
def test_found_sequences(
    engine: Engine, service_client: Client, steps: list[tuple[str, dict[str, Any]]]
) -> None:
    """Each found sequence, step by step, with the same checks as the machine."""
    machine = TaskMachine(engine, service_client.service)
    task = machine.first_task(development=False)
    machine.service_matches_model()
    for name, arguments in steps:
        getattr(machine, name)(task=task, **{"reason": None, "message": None, **arguments})
        machine.service_matches_model()


def test_the_service_behaves_as_the_model(engine: Engine, service_client: Client) -> None:
    """service_client also turns on the check that replaying the log equals the read models."""
    # The stub asks for the class; hypothesis only calls it, so a factory does as well.
    run_state_machine_as_test(
        lambda: TaskMachine(engine, service_client.service),  # type: ignore[arg-type]
        settings=SETTINGS,
    )
