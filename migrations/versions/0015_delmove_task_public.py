"""Public tasks: the flag tasks.make_public sets (a public task is read-only).

Revision ID: 0015_delmove
Revises: 0014
Create Date: 2026-12-06

No backfill: no task was made public before this revision (the column's default, false, is
what a replay of the log gives every existing task).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_delmove"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )


def downgrade() -> None:
    op.drop_column("tasks", "public")
