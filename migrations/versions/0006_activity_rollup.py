"""The daily activity rollup: a catch-up read model of status changes and reports per project.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_daily",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("tasks_created", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status_changes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("metric_reports", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("metric_points", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("company", "project", "day", name="activity_daily_pkey"),
    )
    # The project each task was in, as the log says (the rollup must not read the inline
    # `tasks` table: it is rebuilt from the log alone, at its own checkpoint).
    op.create_table(
        "activity_task_projects",
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("task_id", name="activity_task_projects_pkey"),
    )


def downgrade() -> None:
    op.drop_table("activity_task_projects")
    op.drop_table("activity_daily")
