"""Queues: the read model of QueueCreated events, one name per company.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="queues_pkey"),
        sa.UniqueConstraint("company", "name", name="queues_company_name_key"),
    )


def downgrade() -> None:
    op.drop_table("queues")
