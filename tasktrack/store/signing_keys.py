"""The keys that sign bearer tokens: rows of `server_secrets`, one per generation (the `kid`).

Generation 0 is the row `jwt-hs256`, the one key tasktrack had before keys rotated (tokens
without a `kid` header were signed with it); generation n > 0 is the row `jwt-hs256:<n>`. The
highest generation signs; a lower one still verifies for a grace period after its successor
was created (docs/reliability.md, Token signing keys). No schema change was needed: a key's
generation is in its name and its retirement follows from its successor's `created_at`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import ColumnElement, Connection, delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import server_secrets

FAMILY = "jwt-hs256"
_PREFIX = FAMILY + ":"
# How long a token lives, and so how long a superseded key keeps verifying: a token it signed
# just before the rotation has expired by then.
TOKEN_SECONDS = 24 * 3600


class SigningKey(msgspec.Struct, frozen=True, kw_only=True):
    """One key: its id (the generation, as a string), its bytes, and when it was created."""

    kid: str
    secret: bytes
    created_at: datetime

    @property
    def generation(self) -> int:
        return int(self.kid)


def _row_name(generation: int) -> str:
    return FAMILY if generation == 0 else f"{_PREFIX}{generation}"


def _generation(name: str) -> int | None:
    if name == FAMILY:
        return 0
    digits = name.removeprefix(_PREFIX)
    if digits == name or not digits.isdigit() or digits != str(int(digits)) or digits == "0":
        return None  # not a key of this family (or a name no rotation makes)
    return int(digits)


def _family() -> ColumnElement[bool]:
    name = server_secrets.c.name
    return or_(name == FAMILY, name.startswith(_PREFIX, autoescape=True))


def ensure_first(conn: Connection) -> None:
    """Create generation 0 if the database has no signing key at all (the first server start).

    Concurrent first starts insert the same row name, so one wins and the others do nothing.
    """
    no_key = ~exists(select(server_secrets.c.name).where(_family()))
    conn.execute(
        pg_insert(server_secrets)
        .from_select(
            ["name", "value", "created_at"],
            select(literal(FAMILY), literal(secrets.token_bytes(32)), func.now()).where(no_key),
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )


def load(conn: Connection) -> list[SigningKey]:
    """Every signing key, oldest generation first."""
    rows = conn.execute(
        select(server_secrets.c.name, server_secrets.c.value, server_secrets.c.created_at).where(
            _family()
        )
    )
    keys = []
    for name, value, created_at in rows:
        generation = _generation(name)
        if generation is not None:
            keys.append(SigningKey(kid=str(generation), secret=bytes(value), created_at=created_at))
    return sorted(keys, key=lambda k: k.generation)


def rotate(conn: Connection, drop_previous: bool = False) -> SigningKey:
    """Add the next generation, which signs from now on; with `drop_previous`, delete every
    other key, so every token signed before stops working (after a leak).

    The owner's work (the CLI checks the role). Two rotations at once pick the same generation
    and the second fails on the primary key instead of adding a key nobody signs with.
    """
    current = load(conn)
    generation = (current[-1].generation + 1) if current else 1
    secret = secrets.token_bytes(32)
    created_at = conn.execute(
        pg_insert(server_secrets)
        .values(name=_row_name(generation), value=secret, created_at=func.now())
        .returning(server_secrets.c.created_at)
    ).scalar_one()
    if drop_previous:
        conn.execute(
            delete(server_secrets).where(
                _family(),
                server_secrets.c.name != _row_name(generation),
            )
        )
    return SigningKey(kid=str(generation), secret=secret, created_at=created_at)


def accepted_until(keys: list[SigningKey], key: SigningKey, grace: timedelta) -> datetime | None:
    """Until when `key` verifies tokens: None while it is the newest, else its successor's
    creation plus the grace (a token it signed just before expires within the grace)."""
    successors = [k.created_at for k in keys if k.generation > key.generation]
    return min(successors) + grace if successors else None
