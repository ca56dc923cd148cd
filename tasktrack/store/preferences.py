"""Each user's web UI preferences as a row (users.get_preferences / set_preferences)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import user_preferences

_KEY = user_preferences.c


def load(conn: Connection, company: str, user: str) -> dict[str, Any]:
    """The user's preferences ({} for a user who never set any)."""
    stmt = select(_KEY.preferences).where(_KEY.company == company, _KEY.user_id == user)
    found = conn.execute(stmt).scalar()
    return dict(found) if found else {}


def change(
    conn: Connection,
    company: str,
    user: str,
    apply: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[bool, dict[str, Any]]:
    """Replace the user's preferences with `apply(current)`; whether they changed, and the new
    ones. Call inside a transaction."""
    now = datetime.now(UTC)
    # The row is created first and then read FOR UPDATE: two tabs changing different keys at
    # once each merge into what the other wrote, neither change is lost.
    conn.execute(
        pg_insert(user_preferences)
        .values(company=company, user_id=user, preferences={}, updated_at=now)
        .on_conflict_do_nothing(index_elements=["company", "user_id"])
    )
    locked = select(_KEY.preferences).where(_KEY.company == company, _KEY.user_id == user)
    current = dict(conn.execute(locked.with_for_update()).scalar_one())
    new = apply(current)
    if new == current:
        return False, current
    conn.execute(
        update(user_preferences)
        .where(_KEY.company == company, _KEY.user_id == user)
        .values(preferences=new, updated_at=now)
    )
    return True, new
