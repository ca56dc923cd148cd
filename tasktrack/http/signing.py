"""The token signing keys as one server process knows them, re-read so a rotation reaches a
running server without a restart: every REFRESH_SECONDS, and at once for a token whose `kid` it
has not seen (at most once a second, so forged kids cannot turn into a flood of reads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from tasktrack.store import signing_keys
from tasktrack.store.signing_keys import SigningKey

REFRESH_SECONDS = 30.0
UNKNOWN_KID_REFRESH_SECONDS = 1.0
LEGACY_KID = "0"  # tokens without a kid were signed with generation 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KeyRing:
    """Which key signs a new token, and which key (if any) verifies a presented one."""

    def __init__(
        self,
        engine: Engine,
        grace: timedelta,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.grace = grace
        self._clock = clock
        self._now = now
        # One thread re-reads; the others go on with the snapshot they have. The snapshot is
        # a list replaced whole, never changed in place, so reading it needs no lock.
        self._lock = threading.Lock()
        self._keys = self._read()
        self._loaded = clock()

    def _read(self) -> list[SigningKey]:
        with self.engine.begin() as conn:
            signing_keys.ensure_first(conn)  # a database with no key yet: the first start
            return signing_keys.load(conn)

    def _snapshot(self, max_age: float) -> list[SigningKey]:
        if self._clock() - self._loaded < max_age or not self._lock.acquire(blocking=False):
            return self._keys
        try:
            if self._clock() - self._loaded >= max_age:
                self._keys = self._read()
                self._loaded = self._clock()
        finally:
            self._lock.release()
        return self._keys

    def signing(self) -> SigningKey:
        """The newest key (a rotation is used for signing within REFRESH_SECONDS)."""
        return self._snapshot(REFRESH_SECONDS)[-1]

    def verifying(self, kid: str | None) -> bytes | None:
        """The secret of key `kid` (None: the legacy key) if it still verifies tokens."""
        wanted = LEGACY_KID if kid is None else kid
        keys = self._snapshot(REFRESH_SECONDS)
        found = next((k for k in keys if k.kid == wanted), None)
        if found is None:
            keys = self._snapshot(UNKNOWN_KID_REFRESH_SECONDS)
            found = next((k for k in keys if k.kid == wanted), None)
        if found is None:
            return None
        until = signing_keys.accepted_until(keys, found, self.grace)
        if until is not None and self._now() >= until:
            return None
        return found.secret
