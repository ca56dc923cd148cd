"""Token signing keys rotate: the newest signs, a superseded one verifies for a grace period,
tokens carry their key's `kid`, and a running server picks a rotation up without a restart."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import Engine, text

from tasktrack.http import signing
from tasktrack.http.auth import Authenticator, Unauthorized
from tasktrack.http.ratelimit import FailureLimiter
from tasktrack.http.signing import KeyRing
from tasktrack.store import credentials, signing_keys
from tests.e2e.http import basic

GRACE = timedelta(hours=24)


class Clocks:
    """A monotonic clock and a wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.ticks = 0.0
        self.wall = datetime.now(UTC)

    def monotonic(self) -> float:
        return self.ticks

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.ticks += seconds
        self.wall += timedelta(seconds=seconds)


def _ring(engine: Engine, clocks: Clocks) -> KeyRing:
    return KeyRing(engine, GRACE, clock=clocks.monotonic, now=clocks.now)


def _rotate(engine: Engine, drop_previous: bool = False) -> signing_keys.SigningKey:
    with engine.begin() as conn:
        return signing_keys.rotate(conn, drop_previous=drop_previous)


def test_the_first_key_is_created_once_and_rotations_add_generations(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        for _ in range(3):
            signing_keys.ensure_first(conn)
        conn.execute(  # rows that are not keys of the family are ignored
            text(
                "INSERT INTO server_secrets VALUES ('jwt-hs256:x', '', now()), "
                "('jwt-hs256:01', '', now()), ('other', '', now())"
            )
        )
        (first,) = signing_keys.load(conn)
    assert first.kid == "0"
    assert len(first.secret) == 32
    second = _rotate(own_engine)
    third = _rotate(own_engine)
    assert (second.kid, third.kid) == ("1", "2")
    with own_engine.begin() as conn:
        keys = signing_keys.load(conn)
        signing_keys.ensure_first(conn)  # keys exist: nothing added
        assert signing_keys.load(conn) == keys
    assert [k.kid for k in keys] == ["0", "1", "2"]
    assert len({k.secret for k in keys}) == 3
    assert signing_keys.accepted_until(keys, keys[0], GRACE) == second.created_at + GRACE
    assert signing_keys.accepted_until(keys, keys[1], GRACE) == third.created_at + GRACE
    assert signing_keys.accepted_until(keys, keys[2], GRACE) is None
    dropped = _rotate(own_engine, drop_previous=True)
    with own_engine.connect() as conn:
        assert [k.kid for k in signing_keys.load(conn)] == [dropped.kid] == ["3"]
        others = conn.execute(
            text("SELECT count(*) FROM server_secrets WHERE name NOT LIKE 'jwt%'")
        )
        assert others.scalar_one() == 1  # other secrets are left alone


def test_a_running_ring_follows_a_rotation_and_retires_keys_after_the_grace(
    own_engine: Engine,
) -> None:
    clocks = Clocks()
    ring = _ring(own_engine, clocks)
    legacy = ring.signing()
    assert legacy.kid == "0"
    assert ring.verifying(None) == legacy.secret  # a token without kid: the first key
    assert ring.verifying("0") == legacy.secret
    assert ring.verifying("1") is None

    new = _rotate(own_engine)
    clocks.advance(signing.UNKNOWN_KID_REFRESH_SECONDS)
    # A token of the new key is accepted at once (its unknown kid makes the ring re-read)...
    assert ring.verifying("1") == new.secret
    assert ring.signing().kid == "1"
    # ... and the old key still verifies, until its successor is a token lifetime old.
    clocks.wall = new.created_at + GRACE - timedelta(seconds=1)
    assert ring.verifying(None) == legacy.secret
    clocks.wall = new.created_at + GRACE
    assert ring.verifying(None) is None
    assert ring.verifying("0") is None
    assert ring.verifying("1") == new.secret


def test_signing_moves_to_a_new_key_within_the_refresh_period(own_engine: Engine) -> None:
    clocks = Clocks()
    ring = _ring(own_engine, clocks)
    _rotate(own_engine)
    assert ring.signing().kid == "0"  # the snapshot is fresh: no re-read yet
    clocks.advance(signing.REFRESH_SECONDS)
    assert ring.signing().kid == "1"


def test_unknown_kids_are_read_at_most_once_a_second(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clocks = Clocks()
    ring = _ring(own_engine, clocks)
    reads: list[float] = []
    real = signing_keys.load

    def counting(conn: object) -> list[signing_keys.SigningKey]:
        reads.append(clocks.ticks)
        return real(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(signing_keys, "load", counting)
    for _ in range(20):
        assert ring.verifying("forged") is None
    assert reads == []  # within a second of the last read
    clocks.advance(signing.UNKNOWN_KID_REFRESH_SECONDS)
    for _ in range(20):
        assert ring.verifying("forged") is None
    assert len(reads) == 1


def test_dropping_previous_keys_refuses_their_tokens_at_the_next_refresh(
    own_engine: Engine,
) -> None:
    with own_engine.begin() as conn:
        cred = credentials.create(conn, "keys", "kim")
    auth = Authenticator(own_engine, FailureLimiter(100, 100))
    login = basic(cred.access_key, cred.secret_key)
    before = auth.login(login).token
    assert jwt.get_unverified_header(before)["kid"] == "0"
    claims = jwt.decode(before, options={"verify_signature": False})
    with own_engine.connect() as conn:
        (legacy,) = signing_keys.load(conn)
    kidless = jwt.encode(claims, legacy.secret, algorithm="HS256")  # issued before the change
    assert "kid" not in jwt.get_unverified_header(kidless)

    new = _rotate(own_engine)
    # Both old tokens are honoured through the grace; a token of the new key at once.
    for token in (before, kidless):
        assert auth.caller(f"Bearer {token}").user == "kim"
    fresh = jwt.encode(claims, new.secret, algorithm="HS256", headers={"kid": new.kid})
    auth.keys._loaded -= signing.UNKNOWN_KID_REFRESH_SECONDS  # the ring was read just now
    assert auth.caller(f"Bearer {fresh}").user == "kim"

    latest = _rotate(own_engine, drop_previous=True)
    auth.keys._loaded -= signing.REFRESH_SECONDS  # as if the refresh period had passed
    for token in (before, kidless, fresh):
        with pytest.raises(Unauthorized) as refused:
            auth.caller(f"Bearer {token}")
        assert (refused.value.subcode, refused.value.message) == (
            30,
            "Unauthorized (invalid token)",
        )
    after = auth.login(login).token
    assert jwt.get_unverified_header(after)["kid"] == latest.kid
    assert auth.caller(f"Bearer {after}").user == "kim"
    # A kid that is not a string is refused like a forgery.
    signed = jwt.encode(claims, latest.secret, algorithm="HS256").split(".", 1)[1]
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":4}').rstrip(b"=").decode()
    odd = f"{header}.{signed}"
    with pytest.raises(Unauthorized):
        auth.caller(f"Bearer {odd}")
    assert time.time() < claims["exp"]
