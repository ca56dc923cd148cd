"""The event log, the task read models, projector checkpoints and idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _Xid8(sa.types.UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


def _ts(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'history is never rewritten; append a correcting event instead';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("tx", _Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("data", pg.JSON, nullable=False),
        sa.Column("metadata", pg.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("position", name="events_pkey"),
        sa.UniqueConstraint(
            "stream_id", "stream_version", name="events_stream_id_stream_version_key"
        ),
    )
    op.create_index("events_tx_position_idx", "events", ["tx", "position"])
    op.create_index("events_recorded_at_brin", "events", ["recorded_at"], postgresql_using="brin")
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
    )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        _ts("created", nullable=False),
        _ts("started"),
        _ts("completed"),
        sa.Column("active_duration", sa.BigInteger),
        sa.Column("parent", sa.Text),
        sa.Column("project", sa.Text),
        sa.Column("output", pg.JSONB),
        sa.Column("execution", pg.JSONB),
        sa.Column("container", pg.JSONB),
        sa.Column("models", pg.JSONB),
        sa.Column("script", pg.JSONB),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("system_tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        _ts("status_changed"),
        sa.Column("status_message", sa.Text),
        sa.Column("status_reason", sa.Text),
        _ts("published"),
        sa.Column("last_worker", sa.Text),
        _ts("last_worker_report"),
        _ts("last_update"),
        _ts("last_change"),
        sa.Column("last_changed_by", sa.Text),
        sa.Column("last_iteration", sa.BigInteger),
        sa.Column("hyperparams", pg.JSONB),
        sa.Column("configuration", pg.JSONB),
        sa.Column("runtime", pg.JSONB),
        sa.Column("enqueue_status", sa.Text),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.LargeBinary, nullable=False),
        _ts("head_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="tasks_pkey"),
    )
    op.create_index("tasks_company_status_idx", "tasks", ["company", "status"])
    op.create_index("tasks_company_project_idx", "tasks", ["company", "project"])
    op.create_index("tasks_company_last_update_idx", "tasks", ["company", "last_update"])
    op.create_index("tasks_parent_idx", "tasks", ["parent"])
    op.create_index("tasks_tags_idx", "tasks", ["tags"], postgresql_using="gin")
    op.create_index("tasks_system_tags_idx", "tasks", ["system_tags"], postgresql_using="gin")

    op.create_table(
        "task_status_history",
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        _ts("at", nullable=False),
        sa.Column("force", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("task_id", "stream_version", name="task_status_history_pkey"),
    )
    op.create_index("task_status_history_company_at_idx", "task_status_history", ["company", "at"])

    op.create_table(
        "task_metrics",
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("metric_hash", sa.Text, nullable=False),
        sa.Column("variant_hash", sa.Text, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("min_value", sa.Double),
        sa.Column("min_value_iteration", sa.BigInteger),
        sa.Column("max_value", sa.Double),
        sa.Column("max_value_iteration", sa.BigInteger),
        sa.Column("first_value", sa.Double),
        sa.Column("first_value_iteration", sa.BigInteger),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("finite_count", sa.BigInteger, nullable=False),
        sa.Column("nonfinite_count", sa.BigInteger, nullable=False),
        sa.Column("mean_value", sa.Double),
        sa.Column("x_axis_label", sa.Text),
        sa.PrimaryKeyConstraint("task_id", "metric", "variant", name="task_metrics_pkey"),
    )

    op.create_table(
        "projector_checkpoints",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("tx", _Xid8(), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("name", name="projector_checkpoints_pkey"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("response", pg.JSONB, nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("company", "request_id", name="idempotency_keys_pkey"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("projector_checkpoints")
    op.drop_table("task_metrics")
    op.drop_table("task_status_history")
    op.drop_table("tasks")
    # Dropping the table drops its triggers; TRUNCATE/DELETE are never needed to remove it.
    op.drop_table("events")
    op.execute("DROP FUNCTION events_append_only()")
