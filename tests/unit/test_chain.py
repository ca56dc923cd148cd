"""The canonical form and the hash chain (DESIGN §2: tamper evidence)."""

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
        "data": {"b": 1, "a": [0.5, "x"]},
        "metadata": {"user": "u"},
        "recorded_at": AT,
    }
    fields.update(overrides)
    return chain.event_bytes(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "read_back"),
    [
        (1e16, 10000000000000000),  # jsonb spells exponents out
        (1.0, 1),  # msgspec writes 1.0; jsonb may hand back an int
        (-2.5e3, -2500),
        (1e300, 10**300),
        ({"k": [1.0, 2.5]}, {"k": [1, 2.5]}),
    ],
)
def test_numbers_hash_the_same_however_postgres_spells_them(
    written: object, read_back: object
) -> None:
    assert chain.canonical(written) == chain.canonical(read_back)


def test_different_numbers_stay_different() -> None:
    assert chain.canonical(0.1) != chain.canonical(0.10000000000000002)
    assert chain.canonical(2**70) != chain.canonical(2**70 + 1)


def test_non_finite_numbers_hash_as_what_json_stores() -> None:
    assert chain.canonical(float("nan")) is None
    assert chain.canonical([float("inf")]) == [None]


def test_key_order_does_not_matter() -> None:
    assert _bytes(data={"a": 1, "b": 2}) == _bytes(data={"b": 2, "a": 1})


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
        {"data": {"b": 2, "a": [0.5, "x"]}},
        {"metadata": {"user": "v"}},
        {"recorded_at": AT + timedelta(microseconds=1)},
    ],
)
def test_every_part_of_an_event_is_covered_by_its_hash(change: dict[str, object]) -> None:
    assert chain.link(b"", _bytes(**change)) != chain.link(b"", _bytes())


def test_hash_depends_on_the_previous_hash() -> None:
    assert chain.link(b"\x00" * 32, _bytes()) != chain.link(b"\x01" * 32, _bytes())
    assert len(chain.link(b"", _bytes())) == 32
