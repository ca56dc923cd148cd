"""Reports: a report's text and assets on its task row (reports.create/update); serving
containers: their latest state and their chart values (plain rows, as a worker's).

Revision ID: 0019_reports_serving
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

revision: str = "0019_reports_serving"
down_revision: str | None = "0018_queues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("report", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("report_assets", postgresql.ARRAY(sa.Text()), nullable=True))
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "serving_containers",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("endpoint_name", sa.Text(), nullable=False),
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("info", postgresql.JSONB(), nullable=False),
        sa.Column("status", postgresql.JSONB(), nullable=False),
        sa.Column("register_time", ts, nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("last_activity", ts, nullable=False),
        sa.PrimaryKeyConstraint("company", "id"),
    )
    op.create_index(
        "serving_containers_company_url_idx", "serving_containers", ["company", "endpoint_url"]
    )
    op.create_table(
        "serving_reports",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("container", sa.Text(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("values", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("company", "container", "ts"),
    )
    op.create_index(
        "serving_reports_company_url_ts_idx",
        "serving_reports",
        ["company", "endpoint_url", "ts"],
    )


def downgrade() -> None:
    op.drop_table("serving_reports")
    op.drop_table("serving_containers")
    op.drop_column("tasks", "report_assets")
    op.drop_column("tasks", "report")
