"""get_next_task hands each task to exactly one poller, under contention, and the queue locks
never deadlock with the task commands that move tasks in and out of queues."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain import queues
from tasktrack.domain.errors import DomainError
from tasktrack.projections import rebuild, registry
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tests.integration.task_commands_support import new_task

POLLERS = 8


def _handed_out_in_log(engine: Engine, queue: str) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT stream_id FROM events "
            "WHERE type = 'TaskHandedOut' AND data::jsonb->>'queue' = %s",
            (queue,),
        )
        return Counter(r[0] for r in rows)


def _poll_until_empty(
    client: Client, queue: str, got: list[str], errors: list[BaseException]
) -> None:
    try:
        while True:
            answer = client.get_next_task(queue=queue)
            if not answer:
                return
            got.append(answer["entry"]["task"])
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


def test_many_pollers_get_every_task_exactly_once(client: Client, engine: Engine) -> None:
    q = str(client.create_queue(name="contended")["id"])
    tasks = [new_task(client, f"task {i}") for i in range(120)]
    client.enqueue_many(ids=tasks, queue=q)
    got: list[list[str]] = [[] for _ in range(POLLERS)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_poll_until_empty, args=(client, q, got[i], errors))
        for i in range(POLLERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    everything = [t for mine in got for t in mine]
    assert sorted(everything) == sorted(tasks)  # none twice, none lost
    assert sum(1 for mine in got if mine) > 1  # the pollers really competed
    assert _handed_out_in_log(engine, q) == Counter(tasks)
    assert client.get_num_entries(q) == 0
    # Within one poller, tasks come in queue order.
    for mine in got:
        assert mine == sorted(mine, key=tasks.index)


def test_pollers_and_task_commands_never_deadlock(
    client: Client, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Pollers on two queues while other threads take the same tasks out (dequeue, remove,
    move in the line) and put new ones in: each command locks tasks before queues, so
    PostgreSQL never has to break a deadlock (the service logs every retry after one)."""
    caplog.set_level(logging.INFO, logger="tasktrack.service.core")
    q1 = str(client.create_queue(name="first")["id"])
    q2 = str(client.create_queue(name="second")["id"])
    tasks = [new_task(client, f"task {i}") for i in range(60)]
    client.enqueue_many(ids=tasks[:30], queue=q1)
    client.enqueue_many(ids=tasks[30:], queue=q2)
    fresh = [new_task(client, f"fresh {i}") for i in range(20)]
    errors: list[BaseException] = []
    got: list[list[str]] = [[] for _ in range(4)]

    def meddle(offset: int) -> None:
        """Every meddler goes through every task, each doing another thing to it."""
        try:
            for i, t in enumerate(tasks):
                q = q1 if i < 30 else q2
                try:
                    match (i + offset) % 3:
                        case 0:
                            client.dequeue(task=t)
                        case 1:
                            client.remove_task_from_queue(queue=q, task=t, update_task_status=True)
                        case _:
                            client.move_task_to_back(queue=q, task=t)
                except DomainError as exc:  # 703: handed out or taken out already
                    if exc.subcode != 703:
                        raise
            for t in fresh[offset::3]:
                client.enqueue(task=t, queue=q1 if offset % 2 else q2)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=_poll_until_empty, args=(client, q, got[i], errors))
        for i, q in enumerate((q1, q2, q1, q2))
    ] + [threading.Thread(target=meddle, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for q in (q1, q2):  # what was enqueued after its pollers stopped
        _poll_until_empty(client, q, got[0], errors)
    assert errors == []
    handed = Counter(t for mine in got for t in mine)
    assert handed == _handed_out_in_log(engine, q1) + _handed_out_in_log(engine, q2)
    assert max(handed.values()) == 1
    assert set(fresh) <= set(handed)  # every task enqueued was handed out or taken out
    assert not [r for r in caplog.records if "deadlock" in r.getMessage()]


def _queue_lock_free_while_blocked_on_task(
    engine: Engine, task: str, queue: str, command: Callable[[], object]
) -> bool:
    """Hold the task's lock elsewhere, start the command, and look whether the queue's lock is
    still free while the command waits: it is, when the command locks tasks before queues."""
    holder = engine.connect()
    raw(holder).execute("SELECT pg_advisory_xact_lock(%s)", (eventlog.lock_key(task),))
    done = threading.Event()
    thread = threading.Thread(target=lambda: (command(), done.set()))
    thread.start()
    try:
        time.sleep(0.5)
        assert not done.is_set(), "the command did not wait for the task's lock"
        with engine.connect() as probe:
            row = (
                raw(probe)
                .execute(
                    "SELECT pg_try_advisory_xact_lock(%s)",
                    (eventlog.lock_key(queues.lock_of(queue)),),
                )
                .fetchone()
            )
            probe.rollback()
        assert row is not None
        return bool(row[0])
    finally:
        holder.rollback()
        holder.close()
        thread.join(timeout=30)
        assert done.is_set()


@pytest.mark.parametrize("kind", ["dequeue", "remove_task", "stop", "clear_queue"])
def test_commands_lock_the_task_before_its_queue(client: Client, engine: Engine, kind: str) -> None:
    q = str(client.create_queue(name="order")["id"])
    t = new_task(client)
    client.enqueue(task=t, queue=q)
    commands: dict[str, Callable[[], object]] = {
        "dequeue": lambda: client.dequeue(task=t),
        "remove_task": lambda: client.remove_task_from_queue(queue=q, task=t),
        "stop": lambda: client.stop(task=t),
        "clear_queue": lambda: client.clear_queue(queue=q),
    }
    assert _queue_lock_free_while_blocked_on_task(engine, t, q, commands[kind])
    assert client.get_num_entries(q) == 0


def test_a_handout_skips_a_task_whose_lock_is_held(client: Client, engine: Engine) -> None:
    """As SKIP LOCKED skips a locked row: the first task's lock is held elsewhere (another
    agent claiming it, a task command changing it), so the handout takes the next, and it
    never waits for that lock."""
    q = str(client.create_queue(name="skip held")["id"])
    first, second = new_task(client, "first"), new_task(client, "second")
    client.enqueue_many(ids=[first, second], queue=q)
    with engine.connect() as holder:
        raw(holder).execute("SELECT pg_advisory_xact_lock(%s)", (eventlog.lock_key(first),))
        started = time.monotonic()
        assert client.get_next_task(queue=q)["entry"]["task"] == second
        assert client.get_next_task(queue=q) == {}  # only a held task waits: nothing to hand
        assert client.get_next_task(queue=q, task=first) == {}
        assert time.monotonic() - started < 5
        holder.rollback()
    assert client.get_next_task(queue=q)["entry"]["task"] == first
    assert client.get_num_entries(q) == 0


def test_a_task_handed_out_after_the_line_was_read_is_not_handed_out_again(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line a handout reads is as old as its first statement: another agent may hand the
    first task out and commit before this one takes that task's lock. The entry is read again
    with the task's row, after the lock: gone, so this handout reads the line again and takes
    the next task."""
    q = str(client.create_queue(name="stale line")["id"])
    first, second = new_task(client, "first"), new_task(client, "second")
    client.enqueue_many(ids=[first, second], queue=q)
    other = client.as_caller(client.caller.company, "another agent")
    taken_meanwhile: list[str] = []
    try_first = eventlog.try_first

    def another_agent_first(conn: Any, names: Any) -> int | None:
        # Between this handout's read of the line and its try of the first task's lock.
        if not taken_meanwhile:
            taken_meanwhile.append("…")
            taken_meanwhile[0] = other.get_next_task(queue=q)["entry"]["task"]
        return try_first(conn, names)

    monkeypatch.setattr(eventlog, "try_first", another_agent_first)
    got = client.get_next_task(queue=q)["entry"]["task"]
    monkeypatch.undo()
    assert (taken_meanwhile, got) == ([first], second)
    assert client.get_num_entries(q) == 0
    assert client.get_next_task(queue=q) == {}


def test_handouts_share_the_queue_and_exclude_line_changes(client: Client, engine: Engine) -> None:
    """A handout in flight holds its queue's lock SHARED: another handout runs beside it,
    while a command that changes the line (move, remove, enqueue, clear) waits for it."""
    q = str(client.create_queue(name="shared")["id"])
    tasks = [new_task(client, f"task {i}") for i in range(3)]
    client.enqueue_many(ids=tasks, queue=q)
    key = eventlog.lock_key(queues.lock_of(q))
    with engine.connect() as holder:
        raw(holder).execute("SELECT pg_advisory_xact_lock_shared(%s)", (key,))
        assert client.get_next_task(queue=q)["entry"]["task"] == tasks[0]  # not blocked
        done = threading.Event()
        mover = threading.Thread(
            target=lambda: (client.move_task_to_front(queue=q, task=tasks[2]), done.set())
        )
        mover.start()
        time.sleep(0.5)
        assert not done.is_set(), "a move ran beside a handout"
        holder.rollback()
    mover.join(timeout=30)
    assert done.is_set()
    assert client.get_next_task(queue=q)["entry"]["task"] == tasks[2]
    # And a line change in flight (the EXCLUSIVE lock) holds handouts back.
    with engine.connect() as holder:
        raw(holder).execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        got: list[object] = []
        poller = threading.Thread(target=lambda: got.append(client.get_next_task(queue=q)))
        poller.start()
        time.sleep(0.5)
        assert got == [], "a handout ran beside a line change"
        holder.rollback()
    poller.join(timeout=30)
    assert [g["entry"]["task"] for g in got if isinstance(g, dict)] == [tasks[1]]


def test_pollers_and_line_changes_racing_leave_a_line_the_replay_agrees_with(
    client: Client, engine: Engine
) -> None:
    """Handouts racing moves, enqueues and renames of one queue: every task handed out once,
    and the line the live path left (ranks included) is what the replay folds from the
    queue's stream and the handouts on the tasks' streams (the conftest's verify checks
    too; this test asks for it while the line is not empty)."""
    q = str(client.create_queue(name="racing")["id"])
    tasks = [new_task(client, f"task {i}") for i in range(40)]
    late = [new_task(client, f"late {i}") for i in range(20)]
    client.enqueue_many(ids=tasks, queue=q)
    errors: list[BaseException] = []
    got: list[list[str]] = [[] for _ in range(4)]

    def change() -> None:
        try:
            for i, t in enumerate(late):
                client.enqueue(task=t, queue=q)
                if i % 3 == 0:
                    try:
                        client.move_task_to_front(queue=q, task=t)
                    except DomainError as exc:  # 703: handed out already
                        if exc.subcode != 703:
                            raise
                if i % 5 == 0:
                    client.update_queue(queue=q, name=f"racing {i}")
        except BaseException as exc:
            errors.append(exc)

    def poll(mine: list[str]) -> None:
        try:
            for _ in range(12):
                answer = client.get_next_task(queue=q)
                if answer:
                    mine.append(answer["entry"]["task"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=change)] + [
        threading.Thread(target=poll, args=(got[i],)) for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    handed = Counter(t for mine in got for t in mine)
    assert max(handed.values()) == 1
    assert handed == _handed_out_in_log(engine, q)
    left = [e.task for e in client.get_queue(q).entries]
    assert sorted(left + list(handed)) == sorted(tasks + late)
    assert rebuild.verify(engine, list(registry.PROJECTORS)) == []
