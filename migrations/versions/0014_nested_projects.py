"""Nested projects: each project's parent, its last change, and whether it is public.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Projects are now renamed, moved, merged, made public and deleted (events of their streams), so
the read model gains the columns those facts write. Rows of projects created before this
revision keep a null parent (their creation events name none) and get their creation time as
their last change, which is what a replay of the log gives too.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("parent", sa.Text()))
    op.add_column(
        "projects", sa.Column("public", sa.Boolean(), nullable=False, server_default="false")
    )
    op.add_column("projects", sa.Column("last_update", sa.DateTime(timezone=True)))
    op.execute("UPDATE projects SET last_update = created")
    op.create_index("projects_company_parent_idx", "projects", ["company", "parent"])


def downgrade() -> None:
    op.drop_index("projects_company_parent_idx", table_name="projects")
    op.drop_column("projects", "last_update")
    op.drop_column("projects", "public")
    op.drop_column("projects", "parent")
