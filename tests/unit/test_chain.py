"""The bytes an event is hashed over, and the chain (DESIGN §2: tamper evidence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
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
        "metadata": b'{"user":"u","company":"co"}',
        "recorded_at": AT,
        "company": "co",
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
        {"metadata": b'{"user":"v","company":"co"}'},
        {"recorded_at": AT + timedelta(microseconds=1)},
        {"company": "other"},  # rule 2: the tenant column is hashed too
        {"rule": chain.LEGACY},  # and the rule itself: no passing one off as the other
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


def test_rule_1_is_the_hash_every_event_before_migration_0011_was_written_with() -> None:
    """Pinned: computed by the code before rule 2 existed, so old logs still verify."""
    old = chain.link(b"", _bytes(rule=chain.LEGACY))
    assert old.hex() == "02eba3799e11a9859995d21daa752e054ab403d6c95a1d12ca4062978821bedc"
    assert chain.link(b"", _bytes(rule=chain.LEGACY, company="other")) == old  # the gap


def _link(head: chain.Head | None, version: int, **overrides: object) -> chain.Link:
    fields: dict[str, object] = {
        "stream_id": "s1",
        "stream_version": version,
        "rule": chain.CURRENT,
        "company": "co",
        "type_name": "TaskPinged",
        "schema_version": 1,
        "data": b"{}",
        "metadata": b'{"user":"u","company":"co"}',
        "recorded_at": AT,
    }
    fields.update(overrides)
    digest = chain.link(
        chain.GENESIS if head is None else head.hash,
        chain.event_bytes(**fields),  # type: ignore[arg-type]
    )
    return chain.Link(**fields, hash=digest)  # type: ignore[arg-type]


def test_follow_walks_a_stream_that_moves_from_rule_1_to_rule_2() -> None:
    first = chain.follow(None, _link(None, 1, rule=chain.LEGACY))
    second = chain.follow(first, _link(first, 2))
    assert (second.version, second.tenant, second.rule) == (2, "co", chain.CURRENT)


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"company": "other"}, "the company column says 'other'"),
        ({"metadata": b'{"user":"u","company":"other"}'}, "names tenant 'other'"),
        ({"metadata": b'{"user":"u"}'}, "names no tenant"),
    ],
)
def test_follow_refuses_an_event_whose_tenant_is_not_its_stream(
    overrides: dict[str, object], says: str
) -> None:
    """Each altered event's hash is recomputed: the tenant checks hold on their own."""
    head = chain.follow(None, _link(None, 1, rule=chain.LEGACY))
    for rule in chain.RULES:
        with pytest.raises(chain.Broken, match=says):
            chain.follow(head, _link(head, 2, rule=rule, **overrides))


def test_follow_refuses_a_creation_whose_payload_names_another_tenant() -> None:
    with pytest.raises(chain.Broken, match="the creation names tenant 'other'"):
        chain.follow(None, _link(None, 1, data=b'{"event":"TaskCreated","company":"other"}'))
    made = chain.follow(None, _link(None, 1, data=b'{"event":"TaskCreated","company":"co"}'))
    later = _link(made, 2, data=b'{"event":"TaskEdited","company":"other"}')  # not a creation
    assert chain.follow(made, later).version == 2


def test_follow_refuses_an_unknown_rule_a_rule_that_goes_back_and_a_wrong_hash() -> None:
    head = chain.follow(None, _link(None, 1))
    good = _link(head, 2)
    with pytest.raises(chain.Broken, match="unknown hash-chain rule 3"):
        chain.follow(head, msgspec.structs.replace(good, rule=3))
    with pytest.raises(chain.Broken, match="rules never go back"):
        chain.follow(head, _link(head, 2, rule=chain.LEGACY))
    with pytest.raises(chain.Broken, match="stored hash does not match"):
        chain.follow(head, msgspec.structs.replace(good, hash=bytes(32)))
    with pytest.raises(chain.Broken, match="version 2 is missing"):
        chain.follow(head, _link(head, 3))
    assert chain.follow(head, good).version == 2
