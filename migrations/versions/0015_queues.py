"""Queues as streams: their descriptive fields, stream head, and waiting lines.

Revision ID: 0015_queues
Revises: 0014
Create Date: 2026-12-06

Queues gain the fields queues.create/update write and the head of their stream (the row is the
stream's snapshot, as a task's is), and `queue_entries` holds each queue's waiting line. Queues
made before this revision have only their QueueCreated event: their head is that event, their
last update their creation, and their line is empty (no event put a task in it), which is what
a replay of the log gives too.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0015_queues"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("queues", sa.Column("display_name", sa.Text()))
    op.add_column(
        "queues", sa.Column("tags", ARRAY(sa.Text()), nullable=False, server_default="{}")
    )
    op.add_column(
        "queues",
        sa.Column("system_tags", ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    op.add_column(
        "queues",
        sa.Column("metadata", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("queues", sa.Column("last_update", _TS))
    op.add_column("queues", sa.Column("stream_version", sa.Integer()))
    op.add_column("queues", sa.Column("head_hash", sa.LargeBinary()))
    op.add_column("queues", sa.Column("head_at", _TS))
    op.execute(
        "UPDATE queues q SET last_update = q.created, stream_version = h.stream_version, "
        "head_hash = h.hash, head_at = h.recorded_at "
        "FROM (SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash, recorded_at "
        "      FROM events WHERE stream_id IN (SELECT id FROM queues) "
        "      ORDER BY stream_id, stream_version DESC) AS h "
        "WHERE h.stream_id = q.id"
    )
    for column in ("last_update", "stream_version", "head_hash", "head_at"):
        op.alter_column("queues", column, nullable=False)
    op.create_table(
        "queue_entries",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("queue_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("added", _TS, nullable=False),
        sa.PrimaryKeyConstraint("company", "queue_id", "task_id", name="queue_entries_pkey"),
    )
    op.create_index(
        "queue_entries_company_queue_id_rank_idx",
        "queue_entries",
        ["company", "queue_id", "rank"],
    )
    op.create_index("queue_entries_company_task_id_idx", "queue_entries", ["company", "task_id"])


def downgrade() -> None:
    op.drop_index("queue_entries_company_task_id_idx", table_name="queue_entries")
    op.drop_index("queue_entries_company_queue_id_rank_idx", table_name="queue_entries")
    op.drop_table("queue_entries")
    for column in (
        "head_at",
        "head_hash",
        "stream_version",
        "last_update",
        "metadata",
        "system_tags",
        "tags",
        "display_name",
    ):
        op.drop_column("queues", column)
