"""Time travel: at every version of random histories, the task replayed from its stream equals
the live row (and last_metrics) captured at that moment, asked by version and by time
(issue: tasks.get_by_id with as_of)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError, InvalidRequest, TaskNotFound

SCALAR = "training_stats_scalar"

COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("started"), st.just({})),
        st.tuples(st.just("stopped"), st.just({})),
        st.tuples(st.just("completed"), st.just({})),
        st.tuples(st.just("failed"), st.just({})),
        st.tuples(st.just("reset"), st.just({})),
        st.tuples(st.just("enqueue"), st.sampled_from([{"queue_name": "a"}, {"queue_name": "b"}])),
        st.tuples(st.just("dequeue"), st.just({})),
        st.tuples(st.just("ping"), st.just({})),
        st.tuples(
            st.just("edit"), st.builds(lambda c: {"comment": c, "force": True}, st.text(max_size=5))
        ),
        st.tuples(
            st.just("update"),
            st.builds(lambda t: {"tags": t}, st.lists(st.sampled_from("xyz"), max_size=3)),
        ),
        st.tuples(
            st.just("report"),
            st.lists(
                st.tuples(
                    st.sampled_from(["loss", "acc"]),
                    st.integers(0, 5),
                    st.floats(-10, 10, allow_nan=False),
                ),
                min_size=1,
                max_size=6,
            ),
        ),
    ),
    min_size=1,
    max_size=15,
)


def _apply(client: Client, task: str, name: str, arg: Any) -> None:
    if name == "report":
        client.add_events(
            [
                {"task": task, "type": SCALAR, "metric": m, "variant": "v", "iter": i, "value": v}
                for m, i, v in arg
            ]
        )
    else:
        getattr(client, name)(task=task, **arg)


def _tick() -> datetime:
    """The clock now, returned once it has moved past that moment: every event stamped before
    the call is at or before it, every event of a later command strictly after it."""
    now = datetime.now(UTC)
    while datetime.now(UTC) <= now:
        pass
    return now


def _stamps(client: Client, task: str) -> list[tuple[int, datetime]]:
    """(version, recorded_at) of every event of the task's stream, in version order."""
    with client.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT stream_version, recorded_at FROM events WHERE stream_id = :s "
                "ORDER BY stream_version"
            ),
            {"s": task},
        )
        return [(int(v), at) for v, at in rows]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(commands=COMMANDS)
def test_every_version_replays_to_the_row_it_was(client: Client, commands: list[Any]) -> None:
    task = str(client.create(name="traveller", type="training")["id"])
    captured = [(client.get_by_id(task), _tick())]
    for name, arg in commands:
        try:
            _apply(client, task, name, arg)
        except DomainError:
            continue  # refused: nothing written, nothing to capture
        captured.append((client.get_by_id(task), _tick()))
    stamps = _stamps(client, task)
    for live, moment in captured:
        version = live.stream_version
        assert version is not None
        assert client.get_by_id(task, as_of=version) == live
        # By time, at a moment strictly between this state's last event and the next one
        # (checked here, so that a failure below is time travel's and not the premise's).
        assert all(at <= moment for v, at in stamps if v <= version)
        assert all(at > moment for v, at in stamps if v > version)
        assert client.get_by_id(task, as_of=moment) == live
        assert client.get_by_id(task, as_of=moment.isoformat()) == live
    # At an event's own time (inclusive): the state after every event stamped then, since one
    # command's events share a time and the clock cannot tell them apart.
    for _, at in stamps:
        last = max(v for v, other in stamps if other <= at)
        assert client.get_by_id(task, as_of=at) == client.get_by_id(task, as_of=last)


def test_as_of_a_deleted_task_before_and_after_its_deletion(client: Client) -> None:
    task = str(client.create(name="short lived", type="training")["id"])
    client.edit(task=task, comment="was here")
    client.delete(task=task)
    assert client.get_by_id(task, as_of=2).comment == "was here"
    with pytest.raises(TaskNotFound):
        client.get_by_id(task, as_of=3)
    with pytest.raises(TaskNotFound):
        client.get_by_id(task)


def test_as_of_before_the_task_existed_and_of_another_company(client: Client) -> None:
    task = str(client.create(name="young task", type="training")["id"])
    with pytest.raises(TaskNotFound):
        client.get_by_id(task, as_of="2000-01-01T00:00:00Z")
    with pytest.raises(TaskNotFound):
        client.as_caller("someone-else", "eve").get_by_id(task, as_of=1)


@pytest.mark.parametrize("bad", ["yesterday", "2026-01-01T00:00:00", "0", -3])
def test_bad_as_of_is_400_12(client: Client, bad: Any) -> None:
    task = str(client.create(name="any task", type="training")["id"])
    with pytest.raises(InvalidRequest):
        client.get_by_id(task, as_of=bad)
