"""The failed-authentication budgets per access key and per address (pure, on a fake clock)."""

from __future__ import annotations

import pytest

from tasktrack.config import ConfigError, load_settings
from tasktrack.http import ratelimit
from tasktrack.http.ratelimit import FailureLimiter, TooManyFailures


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spend(limiter: FailureLimiter, key: str, address: str, times: int) -> None:
    for _ in range(times):
        limiter.check(key, address)
        limiter.failed(key, address)


def test_a_key_gets_its_budget_then_429_with_the_wait_until_the_next_attempt() -> None:
    clock = Clock()
    limiter = FailureLimiter(per_key_per_minute=6, per_address_per_minute=100, clock=clock)
    spend(limiter, "K", "10.0.0.1", 6)
    with pytest.raises(TooManyFailures) as refused:
        limiter.check("K", "10.0.0.2")  # another address: the key's budget is spent
    assert refused.value.retry_after == 10  # 6 a minute: one every 10 s
    assert "access key" in refused.value.message
    clock.now += 9.5
    with pytest.raises(TooManyFailures) as still:
        limiter.check("K", "10.0.0.1")
    assert still.value.retry_after == 1
    clock.now += 0.5
    limiter.check("K", "10.0.0.1")  # one attempt has come back
    limiter.failed("K", "10.0.0.1")
    with pytest.raises(TooManyFailures):
        limiter.check("K", "10.0.0.1")
    limiter.check("other key", "10.0.0.1")  # other keys are untouched


def test_an_address_gets_its_budget_across_keys() -> None:
    clock = Clock()
    limiter = FailureLimiter(per_key_per_minute=100, per_address_per_minute=4, clock=clock)
    for n in range(4):
        spend(limiter, f"guess-{n}", "10.0.0.9", 1)
    with pytest.raises(TooManyFailures) as refused:
        limiter.check("yet another", "10.0.0.9")
    assert refused.value.retry_after == 15
    assert "address" in refused.value.message
    limiter.check("yet another", "10.0.0.8")  # another address is untouched
    clock.now += 60
    spend(limiter, "guess-5", "10.0.0.9", 4)  # a full minute refills the whole budget


def test_checks_spend_nothing_only_failures_do() -> None:
    limiter = FailureLimiter(per_key_per_minute=2, per_address_per_minute=2, clock=Clock())
    for _ in range(50):
        limiter.check("K", "10.0.0.1")
    spend(limiter, "K", "10.0.0.1", 2)
    with pytest.raises(TooManyFailures):
        limiter.check("K", "10.0.0.1")


def test_memory_stays_bounded_and_full_buckets_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 50)
    clock = Clock()
    limiter = FailureLimiter(per_key_per_minute=5, per_address_per_minute=5, clock=clock)
    for n in range(500):
        limiter.failed("x" * 10_000 + str(n), f"10.1.{n // 256}.{n % 256}")
    assert len(limiter._keys.entries) == 50
    assert len(limiter._addresses.entries) == 50
    assert all(len(name) == 16 for name in limiter._keys.entries)  # digests, not the keys
    clock.now += 60
    limiter.check("x" * 10_000 + "499", "10.1.1.243")
    assert len(limiter._keys.entries) == 49
    assert len(limiter._addresses.entries) == 49


def test_the_budgets_are_settings() -> None:
    got = load_settings(
        {"TASKTRACK_AUTH_FAILURES_PER_KEY": "3", "TASKTRACK_AUTH_FAILURES_PER_ADDRESS": "7"}
    )
    assert (got.auth_failures_per_key, got.auth_failures_per_address) == (3, 7)
    default = load_settings({})
    assert (default.auth_failures_per_key, default.auth_failures_per_address) == (10, 30)
    with pytest.raises(ConfigError):
        load_settings({"TASKTRACK_AUTH_FAILURES_PER_KEY": "0"})
