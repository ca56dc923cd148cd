"""task_metrics.value_sum: the exact sum of finite values, so the running mean stays exact.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "task_metrics",
        sa.Column("value_sum", sa.Numeric, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("task_metrics", "value_sum")
