"""Models: the read model of each model's stream ("model:<id>"), keyed by company first.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

No backfill: no model event existed before this revision.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_change", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_changed_by", sa.Text, nullable=False),
        sa.Column("uri", sa.Text),
        sa.Column("task", sa.Text),
        sa.Column("parent", sa.Text),
        sa.Column("project", sa.Text),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("system_tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("framework", sa.Text),
        sa.Column("design", pg.JSONB),
        sa.Column("labels", pg.JSONB, nullable=False),
        sa.Column("ready", sa.Boolean, nullable=False),
        sa.Column("ui_cache", pg.JSONB),
        sa.Column("metadata", pg.JSONB, nullable=False),
        sa.Column("last_iteration", sa.BigInteger),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.LargeBinary, nullable=False),
        sa.Column("head_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company", "id", name="models_pkey"),
    )
    op.create_index("models_company_task_idx", "models", ["company", "task"])
    op.create_index("models_company_project_idx", "models", ["company", "project"])
    op.create_index("models_public_idx", "models", ["id"], postgresql_where=sa.text("public"))


def downgrade() -> None:
    op.drop_table("models")
