"""Web UI sessions in the database: the session tokens a logout revoked (by their `jti`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tasktrack.store.tables import revoked_tokens


def revoke(conn: Connection, jti: str, expires_at: datetime) -> None:
    """Refuse the token `jti` from now on (it would be refused after `expires_at` anyway, so
    rows past it are swept here: the table holds only live sessions' ids)."""
    now = datetime.now(UTC)
    conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
    stmt = pg_insert(revoked_tokens).values(jti=jti, expires_at=expires_at)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["jti"]))


def is_revoked(conn: Connection, jti: str) -> bool:
    """Whether a logout ended the token `jti`."""
    found = conn.execute(select(exists().where(revoked_tokens.c.jti == jti))).scalar()
    return bool(found)
