"""Failed authentications are limited per access key and per client address: 429 in ClearML's
envelope with Retry-After, and a caller already verified is never locked out by others' failures.

Clients call from distinct loopback addresses (127.0.0.x) so the two budgets can be told apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tasktrack.store import credentials
from tests.e2e.http import Api, basic, serving

PER_KEY = 3
PER_ADDRESS = 6


@pytest.fixture(scope="module")
def limited(e2e_database: str) -> Iterator[str]:
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_AUTH_FAILURES_PER_KEY": str(PER_KEY),
        "TASKTRACK_AUTH_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
    }
    with serving(env) as base:
        yield base


def _from(base: str, address: str, authorization: str) -> Api:
    api = Api(base, authorization)
    api.http.close()
    transport = httpx.HTTPTransport(local_address=address)
    api.http = httpx.Client(base_url=base, timeout=30, transport=transport)
    return api


def _new(engine: Engine) -> credentials.NewCredential:
    with engine.begin() as conn:
        return credentials.create(conn, f"co-{uuid.uuid4().hex[:10]}", "alice")


def test_a_keys_budget_of_failures_then_429_and_its_owner_still_gets_in(
    limited: str, e2e_engine: Engine
) -> None:
    cred = _new(e2e_engine)
    owner = _from(limited, "127.0.0.2", basic(cred.access_key, cred.secret_key))
    guessers = [
        _from(limited, f"127.0.0.{n}", basic(cred.access_key, f"guess {n}")) for n in (3, 4)
    ]
    try:
        assert owner.ok("tasks.get_all", {}) is not None  # verified once by this server
        for _ in range(PER_KEY):
            assert guessers[0].error("tasks.get_all", {})[:2] == (401, 22)
        for guesser in guessers:  # the key's budget is spent, from any address
            response = guesser.raw("tasks.get_all", "{}")
            assert response.status_code == 429
            meta = response.json()["meta"]
            assert (meta["result_code"], meta["result_subcode"]) == (429, 0)
            assert "access key" in meta["result_msg"]
            wait = int(response.headers["Retry-After"])
            assert 0 < wait <= 60 // PER_KEY
            assert meta["error_data"] == {"retry_after": wait}
        # auth.login is held to the same budget.
        assert guessers[1].error("auth.login")[:1] == (429,)
        # The owner's pair was verified before: the spent budget does not lock it out.
        assert owner.ok("tasks.get_all", {}) is not None
        assert owner.ok("auth.login")["token"]
    finally:
        owner.close()
        for guesser in guessers:
            guesser.close()


def test_an_address_budget_of_failures_across_keys(limited: str, e2e_engine: Engine) -> None:
    sprayer = _from(limited, "127.0.0.5", "")
    elsewhere = _from(limited, "127.0.0.6", "")
    cred = _new(e2e_engine)
    try:
        for n in range(PER_ADDRESS):  # a different unknown key each time: no key budget spent
            sprayer.authorization = basic(f"NOKEY{n:019d}", "x")
            assert sprayer.error("tasks.get_all", {})[:2] == (401, 22)
        sprayer.authorization = basic("ANOTHERKEY", "x")
        code, _, msg = sprayer.error("tasks.get_all", {})
        assert (code, "address" in msg) == (429, True)
        # Even a right secret never verified here waits: the check comes before the scrypt.
        sprayer.authorization = basic(cred.access_key, cred.secret_key)
        assert sprayer.error("tasks.get_all", {})[0] == 429
        # Other addresses are not affected.
        elsewhere.authorization = basic("ANOTHERKEY", "x")
        assert elsewhere.error("tasks.get_all", {})[:2] == (401, 22)
        elsewhere.authorization = basic(cred.access_key, cred.secret_key)
        assert elsewhere.ok("tasks.get_all", {}) is not None
    finally:
        sprayer.close()
        elsewhere.close()
