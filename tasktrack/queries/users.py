"""Users, as ClearML shapes them: tasktrack has no sign-up, a user is whoever a credential of
the company names (`tasktrack credentials create --company C --user U`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from tasktrack.domain.errors import UserNotFound
from tasktrack.store.tables import credentials


def user_view(company: str, user_id: str) -> dict[str, Any]:
    """One user: its id is its name too (credentials carry no names)."""
    return {
        "id": user_id,
        "name": user_id,
        "given_name": user_id,
        "family_name": "",
        "company": {"id": company, "name": company},
        "role": "user",
        "email": "",
        "preferences": {},
    }


def company_users(
    conn: Connection, company: str, ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The company's users (every user a credential names, revoked ones too: they still own
    tasks), by id."""
    stmt = select(credentials.c.user_id).where(credentials.c.company == company).distinct()
    if ids:
        stmt = stmt.where(credentials.c.user_id.in_(list(ids)))
    found = sorted(r[0] for r in conn.execute(stmt))
    return [user_view(company, u) for u in found]


def user_by_id(conn: Connection, company: str, user_id: str) -> dict[str, Any]:
    found = company_users(conn, company, [user_id])
    if not found:
        raise UserNotFound(user_id)
    return found[0]
