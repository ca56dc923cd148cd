"""Daily activity per project (the activity_daily rollup through `Client.project_activity`).

Expectations are counted from the decoded log here, never read from the rollup: what the
answer says after the runner caught up, how it tells what it has not applied yet, one
company's activity never reaching another, and the day window, order and limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from msgspec import UNSET
from sqlalchemy import Engine, insert, text

from tasktrack.api import Client
from tasktrack.domain import events as ev
from tasktrack.domain.errors import DomainError
from tasktrack.projections import registry, runner
from tasktrack.queries import activity
from tasktrack.service import Caller
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tasktrack.store.tables import activity_daily
from tests import settle

ACTIVITY = registry.BY_NAME["activity_daily"]
SCALAR = "training_stats_scalar"
Figures = dict[tuple[str | None, date], Counter[str]]


@pytest.fixture
def acme(own_engine: Engine) -> Client:
    return Client(own_engine, Caller(company="acme", user="alice"))


@pytest.fixture
def rival(acme: Client) -> Client:
    return acme.as_caller("rival", "mallory")


def caught_up(engine: Engine) -> int:
    """Apply every event of the database: the commit-safe horizon is cluster-wide, so wait for
    it to pass them all first (a write of another database of the server holds it back)."""
    settle.horizon_reaches_end(engine)
    return runner.catch_up(engine, ACTIVITY, batch_size=5)  # several batches


def workload(client: Client, projects: tuple[str, str]) -> list[str]:
    """Tasks in two projects and one without: runs, failures, metrics, a move and a delete."""
    first, second = projects
    ids = []
    for i, project in enumerate([first, second, first, None]):
        task = str(client.create(name=f"task {i}", type="training", project=project)["id"])
        ids.append(task)
        client.enqueue(task=task, queue_name="q")
        client.started(task=task)
        client.add_events(
            [
                {
                    "task": task,
                    "type": SCALAR,
                    "metric": "loss",
                    "variant": v,
                    "value": x,
                    "iter": n,
                }
                for n, x in enumerate([3.0, 2.0])
                for v in ("train", "val")
            ]
        )
        (client.failed if i == 1 else client.completed)(task=task)
    client.edit(task=ids[2], project=second, force=True)  # later events count in `second`
    client.move_tasks(ids=[ids[0]], project=None)  # tasks.move: later events count in None
    client.reset(task=ids[0])
    client.reset(task=ids[1])
    client.delete(task=ids[1], force=True)  # its past activity stays
    return ids


def from_log(engine: Engine, company: str) -> Figures:
    """The company's activity counted straight from the decoded log."""
    with engine.connect() as sa_conn:
        records = eventlog.read_all(raw(sa_conn), limit=1_000_000)
        sa_conn.rollback()
    project: dict[str, str | None] = {}
    out: Figures = {}
    for r in records:
        e = r.event
        if r.metadata.company != company:
            continue
        if isinstance(e, ev.TaskCreated):
            project[r.stream_id] = e.project or None
        elif isinstance(e, ev.TaskEdited | ev.TaskUpdated) and e.changes.project is not UNSET:
            project[r.stream_id] = e.changes.project or None
        elif isinstance(e, ev.TaskMoved):
            project[r.stream_id] = e.project
        if r.stream_id not in project:
            continue  # a queue's or a project's stream
        counts = out.setdefault((project[r.stream_id], e.at.astimezone(UTC).date()), Counter())
        change = ev.status_change(e)
        counts["tasks_created"] += isinstance(e, ev.TaskCreated)
        counts["status_changes"] += change is not None
        counts["completed"] += change is not None and change.to_status == "completed"
        counts["failed"] += change is not None and change.to_status == "failed"
        if isinstance(e, ev.MetricsReported):
            counts["metric_reports"] += 1
            counts["metric_points"] += len(e.series)
    return {k: v for k, v in out.items() if +v}


def figures(answer: activity.ProjectActivity) -> Figures:
    return {
        (d.project, d.day): +Counter({c: getattr(d, c) for c in activity.COUNTERS})
        for d in answer.days
    }


def company_events(engine: Engine, company: str) -> list[tuple[int, datetime]]:
    """(position, recorded_at) of the company's events, in log order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT position, recorded_at FROM events WHERE company = :c ORDER BY tx, position"
            ),
            {"c": company},
        ).fetchall()
    return [(int(r[0]), r[1]) for r in rows]


def codes(call: Callable[[], object]) -> tuple[int, int]:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.codes


def test_the_query_names_the_catch_up_projector() -> None:
    assert registry.BY_NAME[activity.PROJECTOR].mode == "catch_up"
    assert set(activity.COUNTERS) < {c.name for c in activity_daily.c}


@pytest.mark.smoke
def test_after_catching_up_the_figures_are_the_log_counted(
    acme: Client, own_engine: Engine
) -> None:
    workload(acme, ("vision", "speech"))
    settle.horizon_reaches_end(own_engine)
    mine = company_events(own_engine, "acme")

    before = acme.project_activity()
    assert before.days == []
    assert (before.as_of_position, before.applied_at) == (0, None)
    assert (before.pending_events, before.pending_capped) == (len(mine), False)
    assert before.oldest_pending_at == min(at for _, at in mine)

    assert caught_up(own_engine) == len(mine)
    after = acme.project_activity()
    expected = from_log(own_engine, "acme")
    assert figures(after) == expected
    assert {p for p, _ in expected} == {"vision", "speech", None}
    assert sum(c["failed"] for c in expected.values()) == 1  # the deleted task's past stays
    assert after.as_of_position == max(p for p, _ in mine)
    assert after.applied_at is not None
    assert (after.pending_events, after.pending_capped, after.oldest_pending_at) == (0, False, None)
    assert [(d.day, d.project or "") for d in after.days] == sorted(
        (d.day, d.project or "") for d in after.days
    )
    only = acme.project_activity("speech")
    assert figures(only) == {k: v for k, v in expected.items() if k[0] == "speech"}


def test_what_the_runner_has_not_applied_yet_is_counted_not_shown(
    acme: Client, own_engine: Engine
) -> None:
    workload(acme, ("vision", "speech"))
    caught_up(own_engine)
    applied = acme.project_activity()
    known = {p for p, _ in company_events(own_engine, "acme")}

    task = str(acme.create(name="late", type="training", project="late")["id"])
    acme.enqueue(task=task, queue_name="q")
    settle.horizon_reaches_end(own_engine)
    late = [(p, at) for p, at in company_events(own_engine, "acme") if p not in known]
    assert len(late) >= 2

    behind = acme.project_activity()
    assert behind.days == applied.days  # the rollup as of its checkpoint
    assert behind.as_of_position == applied.as_of_position
    assert (behind.pending_events, behind.pending_capped) == (len(late), False)
    assert behind.oldest_pending_at == min(at for _, at in late)

    caught_up(own_engine)
    now = acme.project_activity()
    assert figures(now) == from_log(own_engine, "acme")
    assert any(d.project == "late" for d in now.days)
    assert now.pending_events == 0


def test_a_count_past_the_cap_says_so(
    acme: Client, own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        acme.create(name=f"task {i}", type="training", project="capped")
    settle.horizon_reaches_end(own_engine)
    monkeypatch.setattr(activity, "PENDING_CAP", 2)
    capped = acme.project_activity()
    assert (capped.pending_events, capped.pending_capped) == (2, True)
    monkeypatch.setattr(activity, "PENDING_CAP", 3)
    answer = acme.project_activity()
    assert (answer.pending_events, answer.pending_capped) == (3, False)


def test_another_companys_activity_is_never_returned(
    acme: Client, rival: Client, own_engine: Engine
) -> None:
    workload(acme, ("vision", "shared"))
    workload(rival, ("shared", "secret"))
    caught_up(own_engine)

    ours, theirs = acme.project_activity(), rival.project_activity()
    assert figures(ours) == from_log(own_engine, "acme")
    assert figures(theirs) == from_log(own_engine, "rival")
    assert {d.project for d in ours.days} == {"vision", "shared", None}
    assert acme.project_activity("secret").days == []
    assert figures(acme.project_activity("shared")) == {
        k: v for k, v in from_log(own_engine, "acme").items() if k[0] == "shared"
    }
    assert acme.as_caller("nobody", "alice").project_activity().days == []

    # Pending counts are of the caller's own events: the rival's new ones are not acme's.
    rival.create(name="unapplied", type="training", project="secret")
    settle.horizon_reaches_end(own_engine)
    assert acme.project_activity().pending_events == 0
    assert rival.project_activity().pending_events == 1


# --- the day window, order and limit (rows planted: the log only ever writes today) -----------


def _plant(engine: Engine, rows: list[tuple[str, str, str, int]]) -> None:
    """(company, project, day, status_changes) rows straight into the rollup."""
    with engine.begin() as conn:
        conn.execute(
            insert(activity_daily),
            [
                {"company": c, "project": p, "day": date.fromisoformat(d), "status_changes": n}
                for c, p, d, n in rows
            ],
        )


PLANTED = [
    ("acme", "b", "2026-03-01", 1),
    ("acme", "a", "2026-03-01", 2),
    ("acme", "", "2026-03-02", 3),
    ("acme", "a", "2026-03-03", 4),
    ("acme", "b", "2026-03-05", 5),
    ("rival", "a", "2026-03-02", 99),
]


def _seen(answer: activity.ProjectActivity) -> list[tuple[str, str | None, int]]:
    return [(d.day.isoformat(), d.project, d.status_changes) for d in answer.days]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({}, ["03-01 a", "03-01 b", "03-02 -", "03-03 a", "03-05 b"]),
        ({"since": "2026-03-02"}, ["03-02 -", "03-03 a", "03-05 b"]),
        ({"until": "2026-03-02"}, ["03-01 a", "03-01 b", "03-02 -"]),
        ({"since": "2026-03-02", "until": "2026-03-03"}, ["03-02 -", "03-03 a"]),
        ({"since": "2026-03-03", "until": "2026-03-03"}, ["03-03 a"]),
        ({"since": date(2026, 3, 4), "until": date(2026, 3, 4)}, []),
        # A time is its UTC day: 23:30 at UTC-5 on the 2nd is the 3rd in UTC.
        ({"since": "2026-03-02T23:30:00-05:00"}, ["03-03 a", "03-05 b"]),
        ({"until": datetime(2026, 3, 1, 23, 59, tzinfo=UTC)}, ["03-01 a", "03-01 b"]),
        ({"project": "a"}, ["03-01 a", "03-03 a"]),
        ({"limit": 2}, ["03-01 a", "03-01 b"]),
        ({"project": "b", "since": "2026-03-02", "limit": 1}, ["03-05 b"]),
    ],
)
def test_days_are_selected_both_ends_included_oldest_first(
    acme: Client, own_engine: Engine, window: dict[str, Any], expected: list[str]
) -> None:
    _plant(own_engine, PLANTED)
    changes = {(c, p or None, d): n for c, p, d, n in PLANTED}
    project = window.pop("project", None)
    got = _seen(acme.project_activity(project, **window))
    want = []
    for item in expected:
        day, name = item.split()
        key = ("acme", None if name == "-" else name, f"2026-{day}")
        want.append((key[2], key[1], changes[key]))
    assert got == want


BAD: list[tuple[str, Callable[[Client], object], tuple[int, int]]] = [
    ("not a day", lambda c: c.project_activity(since="yesterday"), (400, 12)),
    ("no such day", lambda c: c.project_activity(since="2026-02-30"), (400, 12)),
    ("naive time", lambda c: c.project_activity(until="2026-03-01T10:00:00"), (400, 12)),
    ("naive", lambda c: c.project_activity(until=datetime(2026, 3, 1)), (400, 12)),  # noqa: DTZ001
    ("a number", lambda c: c.project_activity(since=20260301), (400, 12)),
    ("before day one", lambda c: c.project_activity(since="0001-01-01T00:00+05:00"), (400, 12)),
    ("window", lambda c: c.project_activity(since="2026-03-02", until="2026-03-01"), (400, 16)),
    ("limit", lambda c: c.project_activity(limit=0), (400, 16)),
    ("limit", lambda c: c.project_activity(limit=10_001), (400, 16)),
    ("limit type", lambda c: c.project_activity(limit=True), (400, 12)),
]


@pytest.mark.parametrize(("what", "call", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused(
    acme: Client, what: str, call: Callable[[Client], object], expected: tuple[int, int]
) -> None:
    assert codes(lambda: call(acme)) == expected
