"""Listing scrolls as rows: where each tasks.get_all_ex scroll has got, under one stable id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import scroll_states

# As ClearML's default `scroll_state_expiration_seconds`: a scroll nobody moved for this long
# is forgotten, and its id then starts a new scroll (under a new id).
LIFETIME = timedelta(seconds=600)
_C = scroll_states.c


def position(conn: Connection, company: str, scroll_id: str | None) -> tuple[str, int]:
    """(id, position) of the caller's live scroll `scroll_id`; a new id at 0 when it is None,
    unknown, another company's or expired."""
    if scroll_id:
        found = conn.execute(
            select(_C.position).where(
                _C.company == company, _C.id == scroll_id, _C.expires_at > datetime.now(UTC)
            )
        ).scalar()
        if found is not None:
            return scroll_id, int(found)
    return uuid.uuid4().hex, 0


def move(conn: Connection, company: str, scroll_id: str, to: int) -> None:
    """Record that the scroll has got to `to` (and keep it alive for LIFETIME from now); sweep
    the company's expired scrolls on the way, so the table holds live ones only."""
    now = datetime.now(UTC)
    conn.execute(delete(scroll_states).where(_C.company == company, _C.expires_at <= now))
    # Two pages of one scroll asked at once both start from the same position and the last to
    # finish sets it, as with ClearML's Redis state: a scroll is one reader's cursor.
    stmt = pg_insert(scroll_states).values(
        company=company, id=scroll_id, position=to, expires_at=now + LIFETIME
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "id"],
            set_={"position": stmt.excluded.position, "expires_at": stmt.excluded.expires_at},
        )
    )
