"""Web UI sessions: revoked session tokens and each user's UI preferences.

Revision ID: 0020_webui_sessions
Revises: 0019_reports_serving
Create Date: 2026-12-06

`revoked_tokens` holds the ids (`jti`) of session tokens a logout ended, until they would have
expired anyway. `user_preferences` holds what ClearML's web UI stores per user with
users.set_preferences (column choices, view modes): a user setting, not a fact about tasks, so
it is a row, not a stream in the log (docs/architecture.md, "Web UI sessions").

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0020_webui_sessions"
down_revision: str | None = "0019_reports_serving"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.Text(), primary_key=True),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "user_preferences",
        sa.Column("company", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("preferences", JSONB(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_preferences")
    op.drop_index("revoked_tokens_expires_at", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
