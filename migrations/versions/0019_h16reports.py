"""Reports: a report's text and assets on its task row (reports.create/update).

Revision ID: 0019_h16reports
Revises: 0018_queues
Create Date: 2026-12-06

No backfill: no task had a report before this revision (null, the columns' default, is what a
replay of the log gives every existing task).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_h16reports"
down_revision: str | None = "0018_queues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("report", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("report_assets", postgresql.ARRAY(sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("tasks", "report_assets")
    op.drop_column("tasks", "report")
