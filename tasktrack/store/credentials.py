"""API credentials: create, list, revoke, verify. Secrets are stored only as salted hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from functools import lru_cache

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import credentials, server_secrets

# scrypt with these costs takes ~20 ms: slow for a guesser, and verified once per secret, then
# remembered (verification results are cached by the hash they were checked against).
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


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


@lru_cache(maxsize=4096)
def _matches(secret: str, salt: bytes, stored: bytes) -> bool:
    return hmac.compare_digest(_hash(secret, salt), stored)


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


def verify(conn: Connection, access_key: str, secret_key: str) -> Credential | None:
    """The active credential if the secret is right, else None (no hint which part was wrong)."""
    c = credentials.c
    row = conn.execute(
        select(c.company, c.user_id, c.secret_salt, c.secret_hash, c.created_at).where(
            c.access_key == access_key, c.revoked_at.is_(None)
        )
    ).fetchone()
    if row is None:
        _hash(secret_key, b"\0" * 16)  # same work as a real check: no timing hint
        return None
    if not _matches(secret_key, bytes(row[2]), bytes(row[3])):
        return None
    return Credential(access_key=access_key, company=row[0], user=row[1], created_at=row[4])


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
