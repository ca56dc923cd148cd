"""Indexes for get_all's filters and orders (measured with EXPLAIN ANALYZE on 400k tasks).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The default order (by id) within a company, and -last_update with missing values last.
    op.create_index("tasks_company_id_idx", "tasks", ["company", "id"])
    op.drop_index("tasks_company_last_update_idx", table_name="tasks")
    op.create_index(
        "tasks_company_last_update_idx",
        "tasks",
        ["company", sa.text("last_update DESC NULLS LAST"), "id"],
    )
    # execution.queue filters: the expression is exactly the one the filter code writes.
    op.create_index(
        "tasks_company_queue_idx", "tasks", ["company", sa.text("(execution ->> 'queue')")]
    )
    for column in ("created", "started", "status_changed"):
        op.create_index(f"tasks_company_{column}_idx", "tasks", ["company", column])
    # Ranges on last_metrics.<metric>.<variant>.value start from the aggregates.
    op.create_index(
        "task_metrics_company_metric_hash_variant_hash_value_idx",
        "task_metrics",
        ["company", "metric_hash", "variant_hash", "value"],
    )


def downgrade() -> None:
    op.drop_index("task_metrics_company_metric_hash_variant_hash_value_idx", "task_metrics")
    for column in ("created", "started", "status_changed"):
        op.drop_index(f"tasks_company_{column}_idx", table_name="tasks")
    op.drop_index("tasks_company_queue_idx", table_name="tasks")
    op.drop_index("tasks_company_last_update_idx", table_name="tasks")
    op.create_index("tasks_company_last_update_idx", "tasks", ["company", "last_update"])
    op.drop_index("tasks_company_id_idx", table_name="tasks")
