"""Listing scrolls: where each `tasks.get_all_ex` scroll has got, under one id for its life.

Revision ID: 0023_scroll_states
Revises: 0022_tenant_checkpoints
Create Date: 2026-12-06

ClearML keeps a listing scroll's position in Redis and answers the same `scroll_id` for every
page of it; its web UI takes a changed id for an expired scroll and starts its table again, so
a stateless id that encodes the position (what tasktrack answered before) stopped the table at
its second page. A row per scroll (company, id, position, expiry) is that state: a cursor of
one caller's reading, not a fact about tasks, so a row and not an event (docs/architecture.md,
"Listing scrolls").

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_scroll_states"
down_revision: str | None = "0022_tenant_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scroll_states",
        sa.Column("company", sa.Text(), primary_key=True),
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("scroll_states_expires_at", "scroll_states", ["company", "expires_at"])


def downgrade() -> None:
    op.drop_index("scroll_states_expires_at", table_name="scroll_states")
    op.drop_table("scroll_states")
