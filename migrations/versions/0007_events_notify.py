"""NOTIFY tasktrack_events after every statement that inserts events (wakes catch-up runners).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notifications are delivered at commit, and identical ones within a transaction are
    # folded into one; runners also poll, so a lost one only delays them.
    op.execute(
        "CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('tasktrack_events', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_notify ON events")
    op.execute("DROP FUNCTION events_notify()")
