"""The seal of an export: a keyed signature and a plain digest over every event's identity."""

from __future__ import annotations

import pytest

from tasktrack.domain import seal

KEY = b"k" * 32


def _sealed(key: bytes | None, events: list[tuple[int, str, int, str, int, str]]) -> seal.Sealer:
    sealer = seal.Sealer(key)
    for position, stream, version, company, rule, digest in events:
        sealer.add(
            position=position,
            stream_id=stream,
            stream_version=version,
            company=company,
            rule=rule,
            hash_hex=digest,
        )
    return sealer


EVENTS = [(1, "t1", 1, "acme", 2, "aa"), (2, "t1", 2, "acme", 2, "bb")]


def test_a_signature_verifies_under_its_key_only() -> None:
    signed = _sealed(KEY, EVENTS).sign()
    assert _sealed(KEY, EVENTS).verify(signed) is None
    problem = _sealed(b"x" * 32, EVENTS).verify(signed)
    assert problem is not None
    assert "another key" in problem


@pytest.mark.parametrize(
    "altered",
    [
        [(1, "t1", 1, "evil", 2, "aa"), EVENTS[1]],  # the tenant column
        [(1, "t1", 1, "acme", 1, "aa"), EVENTS[1]],  # the rule
        [(7, "t1", 1, "acme", 2, "aa"), EVENTS[1]],  # a position
        [(1, "t1", 1, "acme", 2, "ab"), EVENTS[1]],  # a hash (so any byte the hash covers)
        EVENTS[:1],  # an event dropped
        [*EVENTS, (3, "t2", 1, "acme", 2, "cc")],  # one added
        [EVENTS[1], EVENTS[0]],  # reordered
    ],
)
def test_any_change_to_the_events_breaks_signature_and_digest(
    altered: list[tuple[int, str, int, str, int, str]],
) -> None:
    signed = _sealed(KEY, EVENTS).sign()
    forged = _sealed(KEY, altered)
    assert forged.verify(signed) is not None
    assert forged.digest() != _sealed(None, EVENTS).digest()


def test_fields_cannot_be_shifted_into_each_other() -> None:
    assert (
        _sealed(None, [(1, "t 1", 1, "acme", 2, "aa")]).digest()
        != _sealed(None, [(1, "t", 1, " 1acme", 2, "aa")]).digest()
    )


def test_the_digest_needs_no_key_and_short_keys_are_refused() -> None:
    assert _sealed(None, EVENTS).digest() == _sealed(KEY, EVENTS).digest()
    assert _sealed(None, EVENTS).digest().startswith("sha256:")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        seal.check_key(b"short")
    with pytest.raises(ValueError, match="only digest"):
        seal.Sealer(None).sign()
