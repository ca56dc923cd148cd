"""Workers: each worker's latest state and a bounded series of its machine-stats reports.

Revision ID: 0017_workers
Revises: 0016_event_kinds
Create Date: 2026-12-06

Neither table is a read model of the log: a worker's heartbeats (every few seconds, forever)
are state, not history, and are not events (docs/architecture.md, "Workers"). The facts about
a worker (registered, took or left a task, unregistered, went silent) are events of its stream
`worker:<len(company)>:<company>:<id>`. Both tables are keyed by company first (DESIGN §6).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0017_workers"
down_revision: str | None = "0016_event_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("ip", sa.Text),
        sa.Column("register_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("last_activity", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report", sa.DateTime(timezone=True)),
        sa.Column("task", sa.Text),
        sa.Column("queue", sa.Text),
        sa.Column("queues", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("system_tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("reports", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("gone", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.PrimaryKeyConstraint("company", "id", name="workers_pkey"),
    )
    op.create_index("workers_company_last_activity_idx", "workers", ["company", "last_activity"])
    op.create_table(
        "worker_reports",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("worker", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("task", sa.Text),
        sa.Column("stats", pg.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("company", "worker", "seq", name="worker_reports_pkey"),
    )
    op.create_index("worker_reports_company_ts_idx", "worker_reports", ["company", "ts"])


def downgrade() -> None:
    op.drop_table("worker_reports")
    op.drop_table("workers")
