"""An in-memory model of the status machine (SEMANTICS §2), written from the contract alone.

It imports nothing from tasktrack: the model-based test holds the service to it. Every command
answers an `Outcome` (which refusals are acceptable, whether success is, and the effect to apply
on success). Where SEMANTICS leaves a value open, the model says `ANY` and the test fixes it
from the first observation, so only what the contract states is ever compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Final


class Unfixed:
    """A value SEMANTICS does not fix; the first observation of the service fixes it."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = Unfixed()

Code = tuple[int, int]
UNKNOWN_TASK: Final[Code] = (400, 101)
ILLEGAL_CHANGE: Final[Code] = (400, 110)
CANNOT_DELETE: Final[Code] = (400, 123)
INVALID_REQUEST: Final[Code] = (400, 12)
QUEUE_NOT_FOUND: Final[Code] = (400, 701)
ALREADY_IN_QUEUE: Final[Code] = (400, 706)

DEVELOPMENT: Final = "development"
ARCHIVED: Final = "archived"

# SEMANTICS §2, "Allowed changes without force", transcribed row by row.
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "created": frozenset({"queued", "in_progress"}),
    "queued": frozenset({"created", "in_progress", "stopped"}),
    "in_progress": frozenset({"stopped", "failed", "created", "completed"}),
    "stopped": frozenset(
        {
            "closed",
            "created",
            "failed",
            "queued",
            "in_progress",
            "published",
            "publishing",
            "completed",
        }
    ),
    "closed": frozenset({"created", "failed", "published", "publishing", "stopped"}),
    "failed": frozenset({"created", "stopped", "published", "queued"}),
    "publishing": frozenset({"published"}),
    "completed": frozenset({"published", "in_progress", "created"}),
    "published": frozenset(),
    "unknown": frozenset(),
}


def may_change(current: str, new: str, force: bool) -> bool:
    """force skips the table; a change to the same status is always allowed."""
    return force or current == new or new in ALLOWED[current]


def text(value: str | None) -> str:
    """An omitted status_reason or status_message is written as "" (it clears the old one)."""
    return "" if value is None else value


@dataclass(frozen=True)
class Change:
    """One row of the status history; ANY fields and `optional` rows are what SEMANTICS leaves
    open (an optional row may be absent)."""

    from_status: str
    to_status: str
    reason: str | Unfixed
    message: str | Unfixed
    force: bool | Unfixed
    user: str
    optional: bool = False

    def matches(self, seen: Change) -> bool:
        return (
            (self.from_status, self.to_status, self.user)
            == (seen.from_status, seen.to_status, seen.user)
            and _same(self.reason, seen.reason)
            and _same(self.message, seen.message)
            and _same(self.force, seen.force)
        )


def _same(expected: object, seen: object) -> bool:
    return expected is ANY or expected == seen


def match_history(expected: list[Change], seen: list[Change]) -> list[Change] | None:
    """The observed history if it fits the expected one (optional rows may be missing)."""

    def fit(i: int, j: int) -> list[Change] | None:
        if i == len(expected):
            return [] if j == len(seen) else None
        row = expected[i]
        if j < len(seen) and row.matches(seen[j]):
            rest = fit(i + 1, j + 1)
            if rest is not None:
                return [seen[j], *rest]
        return fit(i + 1, j) if row.optional else None

    return fit(0, 0)


@dataclass
class Task:
    """What the contract says about one task. The timestamp fields say whether it is set."""

    system_tags: set[str]
    parent: str | None = None
    status: str = "created"
    status_reason: str | Unfixed | None = ANY  # SEMANTICS does not say what create writes
    status_message: str | Unfixed | None = ANY
    queue: str | Unfixed | None = None  # the name of the queue the task is in
    enqueue_status: str | Unfixed | None = None
    started: bool | Unfixed = False
    completed: bool | Unfixed = False
    published: bool | Unfixed = False
    runtime: bool = True  # set (create sends one); reset clears it
    live_worker: bool = False  # last_worker set (by a worker report; reports are recent here)
    active_duration: bool = False  # set (by a ping while in_progress)
    recomputed: int = 0  # pings while in_progress: active_duration moves only then
    resets: int = 0  # `started` never changes between two resets
    refreshed: bool = False  # last_update must have moved since the last check
    changed: bool = False  # last_change must have moved since the last check
    history: list[Change] = field(default_factory=list)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Outcome:
    """What the model allows a command to do: fail with one of `errors`, or (if `may_succeed`)
    succeed, answering at least `result`, after which `effect` is applied to the model."""

    errors: frozenset[Code] = frozenset()
    may_succeed: bool = True
    effect: Callable[[], None] = _nothing
    result: dict[str, object] = field(default_factory=dict)
    changes_nothing: bool = False  # a success that must leave every read model as it was


def refuse(*codes: Code) -> Outcome:
    return Outcome(errors=frozenset(codes), may_succeed=False)


def succeed(effect: Callable[[], None] = _nothing, **result: object) -> Outcome:
    return Outcome(effect=effect, result=result)


class Model:
    """The tasks of one company, as SEMANTICS §2 says commands move them."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.tasks: dict[str, Task] = {}
        self.deleted: set[str] = set()

    # --- helpers ---------------------------------------------------------------------------

    def _change(
        self,
        task: Task,
        new: str,
        *,
        reason: str | Unfixed,
        message: str | Unfixed,
        force: bool | Unfixed,
    ) -> None:
        """A status change: writes status, reason, message and one history row.

        Leaving `queued` by any change takes the task out of its queue (docs/semantics.md:
        execution.queue names the queue a task is in, and only while it is in it).
        """
        if task.status == "queued" and new != "queued":
            task.queue = None
        task.history.append(Change(task.status, new, reason, message, force, self.user))
        task.refreshed = task.changed = True
        task.status = new
        task.status_reason = reason
        task.status_message = message

    def _status_endpoint(
        self,
        *,
        task_id: str,
        new: str,
        force: bool,
        reason: str | None,
        message: str | None,
        then: Callable[[Task], None] = lambda task: None,
    ) -> Outcome:
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        if not may_change(task.status, new, force):
            return refuse(ILLEGAL_CHANGE)

        def effect() -> None:
            self._change(task, new, reason=text(reason), message=text(message), force=force)
            then(task)

        return succeed(effect)

    def _publish(self, task: Task, force: bool, reason: str, message: str) -> None:
        """Through publishing to published. From publishing, SEMANTICS does not say whether a
        publishing -> publishing row is written first."""
        if task.status == "publishing":
            task.history.append(
                Change("publishing", "publishing", reason, message, force, self.user, True)
            )
        else:
            self._change(task, "publishing", reason=reason, message=message, force=force)
        self._change(task, "published", reason=reason, message=message, force=force)
        task.published = True

    def _dequeue(
        self,
        task: Task,
        new: str | None,
        *,
        reason: str | Unfixed,
        message: str | Unfixed,
        force: bool | Unfixed,
    ) -> None:
        """Back to `new`, else the status it was enqueued from, else created; out of its queue."""
        target = new or task.enqueue_status or "created"
        assert isinstance(target, str), "enqueue_status is fixed before the next command"
        self._change(task, target, reason=reason, message=message, force=force)
        task.queue = None
        task.enqueue_status = None

    # --- commands --------------------------------------------------------------------------

    def create(self, task_id: str, system_tags: Iterable[str], parent: str | None) -> None:
        self.tasks[task_id] = Task(system_tags=set(system_tags), parent=parent)

    def started(
        self, task_id: str, *, force: bool, reason: str | None, message: str | None
    ) -> Outcome:
        def keep_earliest(task: Task) -> None:
            if task.started is False:
                task.started = True

        return self._status_endpoint(
            task_id=task_id,
            new="in_progress",
            force=force,
            reason=reason,
            message=message,
            then=keep_earliest,
        )

    def stopped(
        self, task_id: str, *, force: bool, reason: str | None, message: str | None
    ) -> Outcome:
        def set_completed(task: Task) -> None:
            task.completed = True

        return self._status_endpoint(
            task_id=task_id,
            new="stopped",
            force=force,
            reason=reason,
            message=message,
            then=set_completed,
        )

    def completed(
        self,
        task_id: str,
        *,
        force: bool,
        reason: str | None,
        message: str | None,
        publish: bool,
    ) -> Outcome:
        def then(task: Task) -> None:
            task.completed = True
            if publish:  # completed always allows published: this publish cannot be refused
                self._publish(task, force, text(reason), text(message))

        return self._status_endpoint(
            task_id=task_id, new="completed", force=force, reason=reason, message=message, then=then
        )

    def failed(
        self, task_id: str, *, force: bool, reason: str | None, message: str | None
    ) -> Outcome:
        return self._status_endpoint(
            task_id=task_id, new="failed", force=force, reason=reason, message=message
        )

    def close(
        self, task_id: str, *, force: bool, reason: str | None, message: str | None
    ) -> Outcome:
        return self._status_endpoint(
            task_id=task_id, new="closed", force=force, reason=reason, message=message
        )

    def stop(self, task_id: str, *, force: bool, reason: str | None) -> Outcome:
        """The request's own status_message is ignored."""
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        queued = task.status == "queued"
        if queued or DEVELOPMENT in task.system_tags or not task.live_worker:
            if not may_change(task.status, "stopped", force):
                return refuse(ILLEGAL_CHANGE)

            def stop_now() -> None:
                message = f"Stopped by {self.user}"
                self._change(task, "stopped", reason=text(reason), message=message, force=force)
                task.completed = ANY  # SEMANTICS sets `completed` on the stopped endpoint only
                if queued:  # it leaves its queue (Deviation: execution.queue is cleared)
                    task.queue = None
                    task.enqueue_status = ANY  # not said

            return succeed(stop_now)

        def ask_worker() -> None:
            # "the status stays and only status_message = stopping (and the reason) is
            # written": whether that counts as a same-status change (a history row and a new
            # status_changed) is not said, so the row is optional.
            task.history.append(
                Change(task.status, task.status, text(reason), "stopping", force, self.user, True)
            )
            task.status_reason = text(reason)
            task.status_message = "stopping"

        return succeed(ask_worker)

    def enqueue(
        self,
        task_id: str,
        queue: str,
        *,
        force: bool,
        reason: str | None,
        message: str | None,
        how: str = "name",
    ) -> Outcome:
        """`how`: "name" (queue_name), "id" (queue id, known), "missing" (an id no queue has),
        "both" (queue and queue_name: a validation error)."""
        task = self.tasks.get(task_id)
        if how == "both":
            return refuse(INVALID_REQUEST) if task else refuse(INVALID_REQUEST, UNKNOWN_TASK)
        if task is None:  # which of the two checks comes first is not said
            return (
                refuse(UNKNOWN_TASK, QUEUE_NOT_FOUND) if how == "missing" else refuse(UNKNOWN_TASK)
            )
        table_allows = may_change(task.status, "queued", force)
        # Which check comes first when both fail is not said: either answer is right.
        also = () if table_allows else (ILLEGAL_CHANGE,)
        if how == "missing":
            return refuse(QUEUE_NOT_FOUND, *also)
        if task.queue == queue:
            return refuse(ALREADY_IN_QUEUE, *also)
        if not table_allows:
            return refuse(ILLEGAL_CHANGE)

        def effect() -> None:
            if task.status != "queued":
                task.enqueue_status = task.status
            self._change(task, "queued", reason=text(reason), message=text(message), force=force)
            task.queue = queue
            task.system_tags.discard(DEVELOPMENT)

        return succeed(effect, queued=1)

    def dequeue(
        self,
        task_id: str,
        *,
        new_status: str | None,
        reason: str | None,
        message: str | None,
    ) -> Outcome:
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        if task.status not in ("queued", "in_progress"):
            return Outcome(result={"dequeued": 1, "updated": 0}, changes_nothing=True)

        def effect() -> None:
            self._dequeue(task, new_status, reason=text(reason), message=text(message), force=True)

        return succeed(effect, dequeued=1)

    def reset(self, task_id: str, *, force: bool) -> Outcome:
        """The request's reason and message are not used: both become "reset"."""
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        if task.status in ("published", "publishing") and not force:
            return refuse(ILLEGAL_CHANGE)
        if self._published_children(task_id) and not force:
            # As ClearML's cleanup: published children refuse a reset (and a delete).
            if task.status == "unknown":
                return refuse(ILLEGAL_CHANGE, CANNOT_DELETE)
            return refuse(CANNOT_DELETE)

        def effect() -> None:
            self._change(task, "created", reason="reset", message="reset", force=force)
            task.started = task.completed = task.published = False
            task.queue = None
            task.enqueue_status = None
            task.live_worker = False
            task.active_duration = False
            task.runtime = False
            task.resets += 1

        if task.status == "unknown" and not force:
            # Reset names only published and publishing as refused, the table refuses every
            # change away from unknown: either reading is accepted.
            return Outcome(errors=frozenset({ILLEGAL_CHANGE}), effect=effect)
        return succeed(effect)

    def publish(
        self, task_id: str, *, force: bool, reason: str | None, message: str | None
    ) -> Outcome:
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        if not (force or "published" in ALLOWED[task.status]):
            return refuse(ILLEGAL_CHANGE)
        return succeed(lambda: self._publish(task, force, text(reason), text(message)))

    def archive(self, task_ids: list[str], *, reason: str | None, message: str | None) -> Outcome:
        known = [self.tasks[t] for t in dict.fromkeys(task_ids) if t in self.tasks]

        def effect() -> None:
            for task in known:
                # How these two changes fill their history rows is not said.
                if task.status == "queued":
                    self._dequeue(task, None, reason=ANY, message=ANY, force=ANY)
                elif task.status == "in_progress":
                    self._change(task, "stopped", reason=ANY, message=ANY, force=ANY)
                    task.completed = ANY
                task.system_tags.add(ARCHIVED)
                task.status_reason = text(reason)
                task.status_message = text(message)
                task.changed = True

        if not known:
            return Outcome(result={"archived": 0}, changes_nothing=True)
        return succeed(effect, archived=len(known))

    def unarchive(self, task_ids: list[str], *, reason: str | None, message: str | None) -> Outcome:
        unique = list(dict.fromkeys(task_ids))
        known = [self.tasks[t] for t in unique if t in self.tasks]

        def effect() -> None:
            for task in known:
                task.system_tags.discard(ARCHIVED)
                task.status_reason = text(reason)
                task.status_message = text(message)
                task.changed = True

        outcome = succeed(
            effect,
            succeeded_ids=[t for t in unique if t in self.tasks],
            failed_ids=[t for t in unique if t not in self.tasks],
        )
        return outcome if known else replace(outcome, changes_nothing=True)

    def _published_children(self, task_id: str) -> int:
        return sum(
            1 for t in self.tasks.values() if t.parent == task_id and t.status == "published"
        )

    def delete(self, task_id: str, *, force: bool) -> Outcome:
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        if not force and task.status != "created" and ARCHIVED not in task.system_tags:
            return refuse(CANNOT_DELETE)
        if not force and self._published_children(task_id):
            return refuse(CANNOT_DELETE)

        def effect() -> None:
            del self.tasks[task_id]
            self.deleted.add(task_id)
            for child in self.tasks.values():
                if child.parent == task_id:
                    child.parent = f"__DELETED__{task_id}"

        return succeed(effect)

    def ping(self, task_id: str) -> Outcome:
        """Refreshes last_update (and active_duration while in_progress); unknown ids are
        ignored silently."""
        task = self.tasks.get(task_id)
        if task is None:
            return Outcome(changes_nothing=True)

        def effect() -> None:
            task.refreshed = True
            if task.status == "in_progress":
                task.active_duration = True
                task.recomputed += 1

        return succeed(effect)

    def worker_report(self, task_id: str) -> Outcome:
        """A report about a task makes its worker live (reports are always recent here)."""
        task = self.tasks[task_id]

        def effect() -> None:
            task.live_worker = True

        return succeed(effect)

    def edit_status(self, task_id: str, new: str) -> Outcome:
        """edit with force writes the status directly (no table; still a history row). edit
        takes no reason or message, so both are written as omitted: ""."""
        task = self.tasks.get(task_id)
        if task is None:
            return refuse(UNKNOWN_TASK)
        return succeed(lambda: self._change(task, new, reason="", message="", force=True))
