"""The bytes an event is hashed over, and the chain (DESIGN §2: tamper evidence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasktrack.domain import chain

AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _bytes(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "stream_id": "s1",
        "stream_version": 1,
        "type_name": "TaskPinged",
        "schema_version": 1,
        "data": b'{"b":1,"a":[0.5,"x"]}',
        "metadata": b'{"user":"u"}',
        "recorded_at": AT,
    }
    fields.update(overrides)
    return chain.event_bytes(**fields)  # type: ignore[arg-type]


def test_time_is_rendered_in_utc() -> None:
    same_instant = AT.astimezone(timezone(timedelta(hours=5)))
    assert _bytes(recorded_at=same_instant) == _bytes()


@pytest.mark.parametrize(
    "change",
    [
        {"stream_id": "s2"},
        {"stream_version": 2},
        {"type_name": "TaskStarted"},
        {"schema_version": 2},
        {"data": b'{"b":2,"a":[0.5,"x"]}'},
        {"data": b'{"b":1.0,"a":[0.5,"x"]}'},  # the same value spelt otherwise is a change too
        {"metadata": b'{"user":"v"}'},
        {"recorded_at": AT + timedelta(microseconds=1)},
    ],
)
def test_every_part_of_an_event_is_covered_by_its_hash(change: dict[str, object]) -> None:
    assert chain.link(b"", _bytes(**change)) != chain.link(b"", _bytes())


def test_parts_cannot_be_shifted_into_each_other() -> None:
    """Length prefixes: moving bytes from data to metadata gives another hash."""
    assert _bytes(data=b'{"a":1}', metadata=b"{}") != _bytes(data=b'{"a":1}{', metadata=b"}")


def test_hash_depends_on_the_previous_hash() -> None:
    assert chain.link(b"\x00" * 32, _bytes()) != chain.link(b"\x01" * 32, _bytes())
    assert len(chain.link(b"", _bytes())) == 32
