"""API credentials: create, list, revoke, verify. Secrets are stored only as salted hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import credentials, server_secrets

# scrypt with these costs takes ~30 ms: slow for a guesser. Every failed check costs exactly one
# scrypt with these parameters, whatever failed (docs/reliability.md, Authentication); a successful
# one is remembered by a SuccessCache, so a legitimate caller pays it once per process.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
SUCCESS_CACHE_SIZE = 4096
# What an unknown or revoked key is checked against: the same scrypt as a real check, then a
# comparison that cannot succeed (no secret hashes to 32 zero bytes, short of breaking scrypt).
_NO_SALT = b"\0" * 16
_NO_HASH = b"\0" * 32


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """A credential as listed (never with its secret)."""

    access_key: str
    company: str
    user: str
    created_at: datetime
    revoked_at: datetime | None = None


class NewCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A freshly created credential: the only time the secret is ever shown."""

    access_key: str
    secret_key: str
    company: str
    user: str


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT)


class SuccessCache:
    """The (access key, secret) pairs that passed a check in this process, as HMAC digests.

    Only successes enter, so a guesser can neither learn anything from it (a wrong secret always
    costs a scrypt) nor evict real users by spraying wrong secrets. The digests are keyed by a
    random per-process key: the cache holds no secret, and its contents are useless elsewhere.
    A hit does not skip the credential's row: `verify` reads it on every call, so a revocation
    takes effect at once.
    """

    def __init__(self, maxsize: int = SUCCESS_CACHE_SIZE) -> None:
        self._key = secrets.token_bytes(32)
        self._maxsize = maxsize
        # Requests run in worker threads; an OrderedDict's reordering is not atomic.
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, None] = OrderedDict()

    def digest(self, access_key: str, secret_key: str) -> bytes:
        ak = access_key.encode()
        message = len(ak).to_bytes(4, "big") + ak + secret_key.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def knows(self, access_key: str, secret_key: str) -> bool:
        """True if this pair passed a check before (and was not evicted since)."""
        return self.hit(self.digest(access_key, secret_key))

    def hit(self, digest: bytes) -> bool:
        with self._lock:
            if digest not in self._entries:
                return False
            self._entries.move_to_end(digest)
            return True

    def remember(self, digest: bytes) -> None:
        with self._lock:
            self._entries[digest] = None
            self._entries.move_to_end(digest)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def forget(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def __len__(self) -> int:
        return len(self._entries)

    def digests(self) -> list[bytes]:
        """What the cache holds (for tests: digests only, never a secret)."""
        with self._lock:
            return list(self._entries)


def create(conn: Connection, company: str, user: str) -> NewCredential:
    if not company.strip() or not user.strip():
        raise ValueError("company and user must not be empty")
    access_key = secrets.token_hex(12).upper()
    secret_key = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    conn.execute(
        insert(credentials).values(
            access_key=access_key,
            company=company,
            user_id=user,
            secret_salt=salt,
            secret_hash=_hash(secret_key, salt),
            created_at=datetime.now(UTC),
        )
    )
    return NewCredential(access_key=access_key, secret_key=secret_key, company=company, user=user)


def list_all(conn: Connection) -> list[Credential]:
    c = credentials.c
    rows = conn.execute(
        select(c.access_key, c.company, c.user_id, c.created_at, c.revoked_at).order_by(
            c.created_at
        )
    )
    return [
        Credential(access_key=r[0], company=r[1], user=r[2], created_at=r[3], revoked_at=r[4])
        for r in rows
    ]


def revoke(conn: Connection, access_key: str) -> bool:
    """Revoke a credential; False if there is no active credential with that key."""
    c = credentials.c
    done = conn.execute(
        update(credentials)
        .where(c.access_key == access_key, c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return done.rowcount == 1


def active(conn: Connection, access_key: str) -> Credential | None:
    c = credentials.c
    row = conn.execute(
        select(c.access_key, c.company, c.user_id, c.created_at).where(
            c.access_key == access_key, c.revoked_at.is_(None)
        )
    ).fetchone()
    if row is None:
        return None
    return Credential(access_key=row[0], company=row[1], user=row[2], created_at=row[3])


def verify(
    conn: Connection, access_key: str, secret_key: str, cache: SuccessCache | None = None
) -> Credential | None:
    """The active credential if the secret is right, else None (no hint which part was wrong).

    An unknown key, a revoked one and a wrong secret for an active one each cost one scrypt of
    the same parameters and give the same None, so neither the answer nor its time says whether
    a key exists. A pair `cache` has seen succeed skips the scrypt, never the row.
    """
    c = credentials.c
    # The same statement whatever the key's state: revoked rows are filtered here, not in SQL.
    row = conn.execute(
        select(
            c.company, c.user_id, c.secret_salt, c.secret_hash, c.created_at, c.revoked_at
        ).where(c.access_key == access_key)
    ).fetchone()
    digest = cache.digest(access_key, secret_key) if cache is not None else b""
    if row is None or row[5] is not None:
        if cache is not None:
            cache.forget(digest)  # a revoked credential's success is forgotten at once
        hmac.compare_digest(_hash(secret_key, _NO_SALT), _NO_HASH)
        return None
    found = Credential(access_key=access_key, company=row[0], user=row[1], created_at=row[4])
    if cache is not None and cache.hit(digest):
        return found
    if not hmac.compare_digest(_hash(secret_key, bytes(row[2])), bytes(row[3])):
        return None
    if cache is not None:
        cache.remember(digest)
    return found


def server_secret(conn: Connection, name: str) -> bytes:
    """A random secret of the server, created on first use and then shared by every process."""
    conn.execute(
        pg_insert(server_secrets)
        .values(name=name, value=secrets.token_bytes(32), created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    value = conn.execute(
        select(server_secrets.c.value).where(server_secrets.c.name == name)
    ).scalar_one()
    return bytes(value)
