"""Budgets of failed authentications per access key and per client address (429 past them).

Token buckets, in this process's memory: with N worker processes a caller gets N budgets
(docs/reliability.md, Authentication). Only failures spend a budget, and the check runs before
the scrypt, so a flood of wrong secrets costs a dictionary lookup each, not a hash.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

# Past this many tracked keys (or addresses) the least recently failed are forgotten: memory
# stays bounded whatever a caller sends, and a forgotten bucket is simply a full one.
MAX_TRACKED = 65_536


class TooManyFailures(Exception):
    """429: too many failed authentications for this access key or from this address."""

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(f"Too many failed authentication attempts {scope}; retry later")
        self.retry_after = retry_after
        self.message = str(self)


class _Buckets:
    """One token bucket per name: `capacity` failures at once, refilled at capacity per minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        # name -> (tokens, when they were counted); most recently touched last.
        self.entries: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    def _tokens(self, name: bytes, now: float) -> float:
        entry = self.entries.get(name)
        if entry is None:
            return self.capacity
        tokens, stamp = entry
        return min(self.capacity, tokens + (now - stamp) * self.rate)

    def wait(self, name: bytes) -> float:
        """Seconds until one failure may be spent (0: now)."""
        now = self.clock()
        tokens = self._tokens(name, now)
        if tokens >= self.capacity:
            self.entries.pop(name, None)  # full again: nothing to remember
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def spend(self, name: bytes) -> None:
        now = self.clock()
        self.entries[name] = (max(0.0, self._tokens(name, now) - 1), now)
        self.entries.move_to_end(name)
        while len(self.entries) > MAX_TRACKED:
            self.entries.popitem(last=False)


class FailureLimiter:
    """Checked before a secret is verified; told of each failure afterwards."""

    def __init__(
        self,
        per_key_per_minute: int,
        per_address_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = _Buckets(per_key_per_minute, clock)
        self._addresses = _Buckets(per_address_per_minute, clock)
        # Requests are checked in worker threads; a check and a spend must not interleave
        # with another thread's (the buckets are read-modify-write).
        self._lock = threading.Lock()

    @staticmethod
    def _key_name(access_key: str) -> bytes:
        # A digest, not the key: whatever length a caller sends, an entry stays small.
        return hashlib.blake2b(access_key.encode(), digest_size=16).digest()

    def check(self, access_key: str, address: str) -> None:
        """Raise TooManyFailures if the key's or the address's budget is spent."""
        with self._lock:
            by_address = self._addresses.wait(address.encode())
            by_key = self._keys.wait(self._key_name(access_key))
        if by_address > 0:
            raise TooManyFailures(math.ceil(by_address), "from this address")
        if by_key > 0:
            raise TooManyFailures(math.ceil(by_key), "for this access key")

    def failed(self, access_key: str, address: str) -> None:
        with self._lock:
            self._addresses.spend(address.encode())
            self._keys.spend(self._key_name(access_key))
