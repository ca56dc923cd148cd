"""Status analytics: intervals, durations, queue waits, summaries and tasks-in-status at a moment.

Expectations are computed from the history read back (`get_status_history`, the task's
`created`), by a small reference implementation here, never from the views themselves.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Engine, inspect, text

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tasktrack.domain.values import STATUSES
from tasktrack.store import migrate
from tasktrack.store.engine import make_engine

US = timedelta(microseconds=1)
VIEWS = {"task_status_intervals", "task_status_durations", "task_queue_waits", "status_daily"}


class Stay(NamedTuple):
    """One expected interval, from the history."""

    task: str
    project: str | None
    type: str
    user: str
    status: str
    entered: datetime
    left: datetime | None

    @property
    def seconds(self) -> float | None:
        return None if self.left is None else (self.left - self.entered).total_seconds()


def stays(client: Client, task: str) -> list[Stay]:
    """The reference: `created` from the task's creation, then one stay per status change."""
    view = client.get_by_id(task)
    starts = [("created", view.created)] + [
        (h.to_status, h.at) for h in client.get_status_history(task)
    ]
    return [
        Stay(
            task,
            view.project,
            view.type,
            view.user,
            status,
            at,
            starts[i + 1][1] if i + 1 < len(starts) else None,
        )
        for i, (status, at) in enumerate(starts)
    ]


def step() -> None:
    """A little time between changes, so that every change has its own instant."""
    time.sleep(0.003)


def make(client: Client, name: str = "analytics task", **fields: Any) -> str:
    task = str(client.create(name=name, type=fields.pop("type", "training"), **fields)["id"])
    step()
    return task


def run(client: Client, task: str, *actions: str) -> None:
    """Apply actions in order: enqueue:QUEUE, dequeue, started, stopped, completed, failed."""
    for action in actions:
        name, _, arg = action.partition(":")
        if name == "enqueue":
            client.enqueue(task=task, queue_name=arg or "gpu")
        else:
            getattr(client, name)(task=task)
        step()


def codes(call: Callable[[], object]) -> tuple[int, int]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.codes


# --- intervals -------------------------------------------------------------------------------


@pytest.mark.smoke
def test_intervals_chain_exactly_from_creation_through_every_change(client: Client) -> None:
    task = make(client, project="vision")
    run(client, task, "enqueue", "started", "stopped", "enqueue", "started", "completed")
    expected = stays(client, task)
    history = client.get_status_history(task)

    got = client.status_intervals(task)

    assert [(i.status, i.entered_at, i.left_at) for i in got] == [
        (s.status, s.entered, s.left) for s in expected
    ]
    assert [i.seq for i in got] == list(range(len(history) + 1))
    assert [i.version for i in got] == [1] + [h.version for h in history]
    assert got[0].status == "created"
    assert got[0].entered_at == client.get_by_id(task).created
    for before, after in itertools.pairwise(got):
        assert before.left_at == after.entered_at
        assert before.next_status == after.status
        assert before.seconds == (after.entered_at - before.entered_at).total_seconds()
        assert before.seconds_so_far == before.seconds
    last = got[-1]
    assert (last.status, last.left_at, last.next_status, last.seconds) == (
        "completed",
        None,
        None,
        None,
    )
    assert last.seconds_so_far >= 0
    assert {(i.project, i.type, i.user_id, i.entered_by) for i in got} == {
        ("vision", "training", "alice", "alice")
    }


def test_a_new_task_has_one_open_created_interval(client: Client) -> None:
    task = make(client)
    (only,) = client.status_intervals(task)
    assert (only.status, only.seq, only.left_at, only.seconds) == ("created", 0, None, None)
    assert only.entered_at == client.get_by_id(task).created


def test_intervals_across_tasks_filter_and_limit(client: Client) -> None:
    first, second = make(client, project="a"), make(client, project="b")
    run(client, first, "enqueue", "started")
    run(client, second, "enqueue", "started", "stopped")
    everything = sorted(
        stays(client, first) + stays(client, second), key=lambda s: (s.entered, s.task)
    )

    listed = client.status_intervals()
    assert [(i.task_id, i.status, i.entered_at) for i in listed] == [
        (s.task, s.status, s.entered) for s in everything
    ]
    assert [i.task_id for i in client.status_intervals(status="queued")] == [first, second]
    assert {i.task_id for i in client.status_intervals(project="b")} == {second}
    assert len(client.status_intervals(limit=2)) == 2
    since = everything[3].entered
    until = everything[6].entered
    assert [
        (i.task_id, i.entered_at) for i in client.status_intervals(since=since, until=until)
    ] == [(s.task, s.entered) for s in everything[3:6]]
    by_text = client.status_intervals(since=since.isoformat(), until=until.isoformat())
    assert [(i.task_id, i.entered_at) for i in by_text] == [
        (s.task, s.entered) for s in everything[3:6]
    ]


# --- durations -------------------------------------------------------------------------------


def test_durations_per_status_sum_to_the_lifetime(client: Client) -> None:
    task = make(client)
    run(client, task, "enqueue", "started", "stopped", "enqueue:cpu", "started", "failed")
    expected = stays(client, task)
    per_status: dict[str, list[Stay]] = defaultdict(list)
    for s in expected:
        per_status[s.status].append(s)

    got = {d.status: d for d in client.status_durations(task)}

    assert set(got) == set(per_status) == {"created", "queued", "in_progress", "stopped", "failed"}
    for status, mine in per_status.items():
        d = got[status]
        assert d.entries == len(mine)
        assert d.seconds == pytest.approx(sum(s.seconds or 0.0 for s in mine), abs=1e-6)
        assert d.first_entered_at == mine[0].entered
        assert d.last_entered_at == mine[-1].entered
        assert d.is_current == (status == "failed")
    assert got["in_progress"].entries == 2
    assert got["queued"].entries == 2
    lifetime = (expected[-1].entered - expected[0].entered).total_seconds()
    assert sum(d.seconds for d in got.values()) == pytest.approx(lifetime, abs=1e-6)
    assert got["failed"].seconds == 0.0
    assert got["failed"].seconds_so_far > 0
    assert [d.status for d in client.status_durations(task, status="queued")] == ["queued"]


# --- queue waits -----------------------------------------------------------------------------


def test_queue_waits_are_visits_from_queued_to_the_next_in_progress(client: Client) -> None:
    task = make(client, project="q")
    # Visit 1: queued, moved to another queue (queued -> queued), started.
    # Visit 2: queued, dequeued back to created (no start). Visit 3: queued, still waiting.
    run(client, task, "enqueue:a", "enqueue:b", "started", "stopped")
    run(client, task, "enqueue:a", "dequeue", "enqueue:a")
    history = client.get_status_history(task)
    at = [h.at for h in history]
    assert history[5].to_status == "stopped"  # dequeue returns to the status it came from
    direct = make(client, project="q")
    run(client, direct, "started")  # never queued: no visit

    waits = client.queue_waits(project="q")

    assert [w.task_id for w in waits] == [task] * 3
    ran, dequeued, waiting = waits
    assert (ran.queued_at, ran.left_at, ran.started_at, ran.next_status) == (
        at[0],
        at[2],
        at[2],
        "in_progress",
    )
    assert ran.wait_seconds == ran.seconds == (at[2] - at[0]).total_seconds()
    assert ran.entries == 2
    assert (dequeued.queued_at, dequeued.left_at, dequeued.next_status) == (at[4], at[5], "stopped")
    assert dequeued.started_at is None
    assert dequeued.wait_seconds is None
    assert dequeued.seconds == (at[5] - at[4]).total_seconds()
    assert (waiting.queued_at, waiting.left_at, waiting.next_status) == (at[6], None, None)
    assert waiting.seconds is None
    assert waiting.wait_seconds is None
    assert waiting.seconds_so_far > 0
    assert client.queue_waits(started_only=True) == [ran]
    assert [w.queued_at for w in client.queue_waits(task, since=at[4])] == [at[4], at[6]]
    assert [w.queued_at for w in client.queue_waits(task, until=at[4])] == [at[0]]
    assert client.queue_waits(direct) == []


# --- summaries -------------------------------------------------------------------------------


@pytest.fixture
def population(client: Client) -> list[Stay]:
    """Four tasks over two projects (and none), three types and two users."""
    bob = client.as_caller(client.caller.company, "bob")
    one = make(client, project="pa")
    run(client, one, "enqueue", "started", "completed")
    two = make(client, project="pb", type="testing")
    run(client, two, "enqueue", "dequeue", "started")
    three = make(bob, type="training")
    run(bob, three, "started", "failed")
    four = make(bob, project="pa", type="inference")  # stays created
    return [s for t in (one, two, three, four) for s in stays(client, t)]


def _key(s: Stay, group_by: str) -> str | None:
    return {
        "project": s.project,
        "type": s.type,
        "user": s.user,
        "day": s.entered.astimezone(UTC).date().isoformat(),
    }[group_by]


def _expected(stays_: list[Stay], group_by: str) -> dict[tuple[str | None, str], list[Stay]]:
    groups: dict[tuple[str | None, str], list[Stay]] = defaultdict(list)
    for s in stays_:
        groups[(_key(s, group_by), s.status)].append(s)
    return groups


@pytest.mark.parametrize("group_by", ["project", "type", "user", "day"])
def test_summary_per_group_and_status(
    client: Client, population: list[Stay], group_by: str
) -> None:
    expected = _expected(population, group_by)

    got = client.status_summary(group_by)

    assert [(r.group, r.status) for r in got] == sorted(
        expected, key=lambda k: (k[0] is not None, k[0] or "", STATUSES.index(k[1]))
    )
    for r in got:
        mine = expected[(r.group, r.status)]
        closed = [s.seconds for s in mine if s.seconds is not None]
        assert r.entries == len(mine)
        assert r.open_entries == len(mine) - len(closed)
        assert r.seconds == pytest.approx(sum(closed), abs=1e-6)
        if closed:
            assert r.mean_seconds == pytest.approx(sum(closed) / len(closed), abs=1e-6)
            assert r.max_seconds == max(closed)
        else:
            assert r.mean_seconds is None
            assert r.max_seconds is None
        assert r.seconds_so_far >= r.seconds
        if r.open_entries == 0:
            assert r.seconds_so_far == pytest.approx(r.seconds, abs=1e-6)


def test_summary_filters_by_status_project_and_entry_window(
    client: Client, population: list[Stay]
) -> None:
    queued = client.status_summary("project", status="queued")
    assert [(r.group, r.entries) for r in queued] == [("pa", 1), ("pb", 1)]
    in_pa = client.status_summary("type", project="pa")
    assert {r.group for r in in_pa} == {"training", "inference"}

    entries = sorted(population, key=lambda s: s.entered)
    since, until = entries[4].entered, entries[9].entered
    window = [s for s in population if since <= s.entered < until]
    got = client.status_summary("user", since=since, until=until)
    expected = _expected(window, "user")
    assert {(r.group, r.status): r.entries for r in got} == {k: len(v) for k, v in expected.items()}


def test_status_daily_view_matches_the_history(
    client: Client, population: list[Stay], engine: Engine
) -> None:
    expected: dict[tuple[Any, ...], list[Stay]] = defaultdict(list)
    for s in population:
        day = s.entered.astimezone(UTC).date()
        expected[(s.project, s.type, s.user, day, s.status)].append(s)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT project, type, user_id, day, status, entries, open_entries, seconds "
                "FROM status_daily WHERE company = :c"
            ),
            {"c": client.caller.company},
        ).fetchall()
    assert {tuple(r[:5]) for r in rows} == set(expected)
    for r in rows:
        mine = expected[tuple(r[:5])]
        assert r.entries == len(mine)
        assert r.open_entries == sum(1 for s in mine if s.left is None)
        assert r.seconds == pytest.approx(sum(s.seconds or 0.0 for s in mine), abs=1e-6)


# --- tasks in a status at a moment -----------------------------------------------------------


def _in_status_at(all_stays: list[Stay], status: str, at: datetime) -> set[str]:
    return {
        s.task
        for s in all_stays
        if s.status == status and s.entered <= at and (s.left is None or at < s.left)
    }


def test_tasks_in_status_at_instants_and_boundaries(client: Client, engine: Engine) -> None:
    first, second = make(client), make(client)
    run(client, first, "enqueue")
    run(client, second, "enqueue", "started")
    run(client, first, "started", "completed")
    run(client, second, "stopped")
    everything = stays(client, first) + stays(client, second)
    instants = sorted(
        {s.entered + d for s in everything for d in (-US, timedelta(0), US)}
        | {datetime.now(UTC) + timedelta(seconds=5)}
    )
    statuses = ("created", "queued", "in_progress", "stopped", "completed")

    for at in instants:
        for status in statuses:
            got = client.tasks_in_status(status, at)
            assert {t.task_id for t in got} == _in_status_at(everything, status, at), (status, at)

    # The boundary itself: at the instant of a change the task is in the new status.
    enqueued = stays(client, first)[1]
    assert [t.task_id for t in client.tasks_in_status("queued", enqueued.entered)] == [first]
    assert first not in {t.task_id for t in client.tasks_in_status("created", enqueued.entered)}
    assert first in {t.task_id for t in client.tasks_in_status("created", enqueued.entered - US)}
    (found,) = client.tasks_in_status("queued", enqueued.entered)
    assert (found.entered_at, found.left_at) == (enqueued.entered, enqueued.left)
    before_all = min(s.entered for s in everything) - US
    assert all(client.tasks_in_status(s, before_all) == [] for s in statuses)

    # The one query of docs/analytics.md answers the same.
    with engine.connect() as conn:
        for at in instants[::3]:
            ids = conn.execute(
                text(
                    "SELECT task_id FROM task_status_intervals WHERE company = :c "
                    "AND status = 'queued' AND entered_at <= :t "
                    "AND (left_at > :t OR left_at IS NULL)"
                ),
                {"c": client.caller.company, "t": at},
            ).scalars()
            assert set(ids) == _in_status_at(everything, "queued", at)


# --- tenancy, deletion, bad input ------------------------------------------------------------


def test_another_company_sees_nothing(client: Client) -> None:
    task = make(client, project="secret")
    run(client, task, "enqueue", "started")
    other = client.as_caller(client.caller.company + "-other", "alice")
    moment = client.get_status_history(task)[0].at

    assert client.status_intervals()
    assert client.queue_waits()
    assert client.status_summary()
    assert other.status_intervals() == []
    assert other.status_durations() == []
    assert other.queue_waits() == []
    assert other.status_summary("project") == []
    assert other.tasks_in_status("queued", moment) == []
    assert client.tasks_in_status("queued", moment)
    for call in (other.status_intervals, other.status_durations, other.queue_waits):
        assert codes(lambda call=call: call(task)) == (400, 101)


def test_a_deleted_task_leaves_the_views(client: Client) -> None:
    gone, kept = make(client), make(client)
    run(client, gone, "enqueue", "dequeue")
    assert {i.task_id for i in client.status_intervals()} == {gone, kept}
    client.delete(task=gone)
    assert {i.task_id for i in client.status_intervals()} == {kept}
    assert {d.task_id for d in client.status_durations()} == {kept}
    assert client.queue_waits() == []
    assert codes(lambda: client.status_intervals(gone)) == (400, 101)


EARLIER, LATER = "2026-01-01T00:00Z", "2026-02-01T00:00Z"
BAD: list[tuple[str, Callable[[Client], object], tuple[int, int]]] = [
    ("group_by", lambda c: c.status_summary("week"), (400, 12)),
    ("status", lambda c: c.status_summary(status="running"), (400, 12)),
    ("status", lambda c: c.status_intervals(status="done"), (400, 12)),
    ("status", lambda c: c.tasks_in_status("waiting", datetime.now(UTC)), (400, 12)),
    ("naive", lambda c: c.tasks_in_status("queued", datetime(2026, 1, 1)), (400, 12)),  # noqa: DTZ001
    ("naive", lambda c: c.status_summary(since="2026-01-01T00:00:00"), (400, 12)),
    ("not a time", lambda c: c.queue_waits(until="yesterday"), (400, 12)),
    ("window", lambda c: c.status_intervals(since=LATER, until=EARLIER), (400, 16)),
    ("window", lambda c: c.status_summary(since=LATER, until=EARLIER), (400, 16)),
    ("limit", lambda c: c.status_intervals(limit=0), (400, 16)),
    ("limit", lambda c: c.queue_waits(limit=10_001), (400, 16)),
    ("task", lambda c: c.status_durations("0" * 32), (400, 101)),
]


@pytest.mark.parametrize(("what", "call", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused(
    client: Client, what: str, call: Callable[[Client], object], expected: tuple[int, int]
) -> None:
    assert codes(lambda: call(client)) == expected


# --- the migration ---------------------------------------------------------------------------


@pytest.fixture
def fresh_engine(new_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(new_database(), pool_size=1)
    yield engine
    engine.dispose()


def test_migration_0009_creates_and_drops_the_views(fresh_engine: Engine) -> None:
    migrate.upgrade(fresh_engine, "0008")
    assert VIEWS.isdisjoint(inspect(fresh_engine).get_view_names())
    migrate.upgrade(fresh_engine, "0009")
    assert set(inspect(fresh_engine).get_view_names()) >= VIEWS
    migrate.downgrade(fresh_engine, "0008")
    assert VIEWS.isdisjoint(inspect(fresh_engine).get_view_names())
    assert {"tasks", "task_status_history"} <= set(inspect(fresh_engine).get_table_names())
