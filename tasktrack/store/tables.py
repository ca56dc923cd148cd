"""The schema: SQLAlchemy Core metadata, the single description alembic compares against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

from tasktrack.store.types import Xid8

NAMING = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}

metadata = MetaData(naming_convention=NAMING)


def _ts(name: str, nullable: bool = True) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


# The log: the only source of truth. Everything below it is a projection.
events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(always=True), nullable=False),
    # The writing transaction, for commit-safe reading (see store/eventlog.py).
    Column("tx", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("company", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema_version", SmallInteger, nullable=False),
    # json, not jsonb: the exact bytes written are kept, and the hash chain covers them as is
    # (jsonb would re-spell numbers: 1e16 comes back as 10000000000000000, -0.0 as 0.0).
    Column("data", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("hash", LargeBinary, nullable=False),
    # The hash-chain rule the event was hashed under (domain/chain.py; migration 0011): 1 for
    # events written before the chain covered the company column, 2 since.
    Column("chain", SmallInteger, nullable=False),
    CheckConstraint("chain IN (1, 2)", name="chain"),
    # Keys led by the tenant, the column a distributed layout shards by (migration
    # 0021_company_keys).
    PrimaryKeyConstraint("company", "position"),
    # Concurrent appends at the same version conflict here instead of overwriting each other.
    UniqueConstraint("company", "stream_id", "stream_version"),
    # A stream read by its id alone.
    Index("events_stream_id_stream_version_idx", "stream_id", "stream_version"),
    Index("events_tx_position_idx", "tx", "position"),
    Index("events_company_tx_position_idx", "company", "tx", "position"),
    Index("events_recorded_at_brin", "recorded_at", postgresql_using="brin"),
    # A queue's handouts, which are events of its tasks' streams (migration 0022).
    Index(
        "events_handouts_idx",
        "company",
        text("(data ->> 'queue')"),
        "position",
        postgresql_where=text("type = 'TaskHandedOut'"),
    ),
)

# Current state of every live task: one row per task, all fields of ClearML's task object.
# The row is also the stream head: `stream_version`/`head_hash` are locked FOR UPDATE by writers.
tasks = Table(
    "tasks",
    metadata,
    Column("id", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    _ts("created", nullable=False),
    _ts("started"),
    _ts("completed"),
    Column("active_duration", BigInteger),
    Column("parent", Text),
    Column("project", Text),
    Column("output", JSONB),
    Column("execution", JSONB),
    Column("container", JSONB),
    Column("models", JSONB),
    Column("script", JSONB),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("system_tags", ARRAY(Text), nullable=False, server_default="{}"),
    _ts("status_changed"),
    Column("status_message", Text),
    Column("status_reason", Text),
    _ts("published"),
    Column("last_worker", Text),
    _ts("last_worker_report"),
    _ts("last_update"),
    _ts("last_change"),
    Column("last_changed_by", Text),
    Column("last_iteration", BigInteger),
    Column("hyperparams", JSONB),
    Column("configuration", JSONB),
    Column("runtime", JSONB),
    Column("enqueue_status", Text),
    Column("stream_version", Integer, nullable=False),
    Column("head_hash", LargeBinary, nullable=False),
    _ts("head_at", nullable=False),
    # A public task is read-only, the owner's included (tasks.make_public; migration
    # 0015_delmove). Last: the migration adds it after the head's columns.
    Column("public", Boolean, nullable=False, server_default=text("false")),
    # A report's text and assets (reports.*; migration 0019_reports_serving), after `public`.
    Column("report", Text),
    Column("report_assets", ARRAY(Text)),
    PrimaryKeyConstraint("company", "id"),
    Index("tasks_id_idx", "id"),
    Index("tasks_company_status_idx", "company", "status"),
    # Project alone, or project and status (migration 0010).
    Index("tasks_company_project_status_idx", "company", "project", "status"),
    # get_all's orders and filters (migration 0008): by id (the primary key since 0019),
    # -last_update with missing last, execution.queue, the time ranges.
    Index("tasks_company_last_update_idx", "company", text("last_update DESC NULLS LAST"), "id"),
    Index("tasks_company_queue_idx", "company", text("(execution ->> 'queue')")),
    Index("tasks_company_created_idx", "company", "created"),
    Index("tasks_company_started_idx", "company", "started"),
    Index("tasks_company_status_changed_idx", "company", "status_changed"),
    Index("tasks_parent_idx", "parent"),
    Index("tasks_tags_idx", "tags", postgresql_using="gin"),
    Index("tasks_system_tags_idx", "system_tags", postgresql_using="gin"),
)

# One row per status change, in stream order: from, to, who, when, why.
task_status_history = Table(
    "task_status_history",
    metadata,
    Column("task_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("company", Text, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    _ts("at", nullable=False),
    Column("force", Boolean, nullable=False),
    PrimaryKeyConstraint("company", "task_id", "stream_version"),
    Index("task_status_history_task_id_stream_version_idx", "task_id", "stream_version"),
    Index("task_status_history_company_at_idx", "company", "at"),
)

# The last/min/max/first/mean aggregate of each (task, metric, variant), folded incrementally.
task_metrics = Table(
    "task_metrics",
    metadata,
    Column("task_id", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("variant", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("metric_hash", Text, nullable=False),
    Column("variant_hash", Text, nullable=False),
    Column("value", Double),
    Column("min_value", Double),
    Column("min_value_iteration", BigInteger),
    Column("max_value", Double),
    Column("max_value_iteration", BigInteger),
    Column("first_value", Double),
    Column("first_value_iteration", BigInteger),
    Column("count", BigInteger, nullable=False),
    Column("finite_count", BigInteger, nullable=False),
    Column("nonfinite_count", BigInteger, nullable=False),
    Column("mean_value", Double),
    Column("x_axis_label", Text),
    # The exact sum of the finite values (numeric): mean_value = value_sum / finite_count.
    Column("value_sum", Numeric, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("company", "task_id", "metric", "variant"),
    Index("task_metrics_task_id_idx", "task_id"),
    Index(
        "task_metrics_company_metric_hash_variant_hash_value_idx",
        "company",
        "metric_hash",
        "variant_hash",
        "value",
    ),
)

# A task's console output, one row per line (events.get_task_log pages it in SQL). `seq` counts
# the task's lines in arrival order (1, 2, 3, …): the last one is the task's total, one probe of
# the primary key away. level, worker and msg are JSON strings where `json_encoded` says so:
# text cannot hold a NUL, a console line can.
task_log_lines = Table(
    "task_log_lines",
    metadata,
    Column("company", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("level", Text, nullable=False),
    Column("worker", Text),
    Column("msg", Text, nullable=False),
    Column("iter", BigInteger),
    Column("json_encoded", Boolean, nullable=False),
    # The line's metric and variant (ClearML's log events may name them; "" when not).
    Column("metric", Text, nullable=False, server_default=""),
    Column("variant", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("company", "task_id", "seq"),
    Index(
        "task_log_lines_company_task_id_timestamp_seq_idx", "company", "task_id", "timestamp", "seq"
    ),
)

# Every point of every scalar series, per run (0, then one more per reset), the later report of
# an iteration replacing the earlier, keyed by its series' id (task_metric_series): a narrow key
# (company, bigint, bigint) instead of the series' five columns in every row and index entry.
# finite_n and finite_sum are running totals in iteration order (finite values so far and their
# exact sum), so the mean of any range of iterations is two probes of the primary key, whatever
# the series' length.
task_metric_points = Table(
    "task_metric_points",
    metadata,
    Column("company", Text, nullable=False),
    Column("series_id", BigInteger, nullable=False),
    Column("iter", BigInteger, nullable=False),
    Column("value", Double, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("finite_n", BigInteger, nullable=False),
    Column("finite_sum", Numeric, nullable=False),
    PrimaryKeyConstraint("company", "series_id", "iter"),
)

# One row per (task, run, metric, variant) that has points: its id (a 64-bit hash of the five,
# projections/series_ids.py; unique per company, so a collision fails loudly instead of merging
# two series), how many points, and their first and last iteration (a histogram's interval).
task_metric_series = Table(
    "task_metric_series",
    metadata,
    Column("company", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("run", Integer, nullable=False),
    Column("metric", Text, nullable=False),
    Column("variant", Text, nullable=False),
    Column("series_id", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("first_iter", BigInteger, nullable=False),
    Column("last_iter", BigInteger, nullable=False),
    PrimaryKeyConstraint("company", "task_id", "run", "metric", "variant"),
    UniqueConstraint("company", "series_id"),
)

# The run a task is in: how many times it was reset (tasks never reset have no row: run 0).
task_runs = Table(
    "task_runs",
    metadata,
    Column("company", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("run", Integer, nullable=False),
    PrimaryKeyConstraint("company", "task_id"),
)

# A task's plots, debug images and vectors of its current run (projections/reported.py): the
# later report of a (type, metric, variant, iter, key) replaces the earlier; `seq` numbers the
# task's reports since its last reset in arrival order; `body` is the event as sent (JSON text).
task_reported_events = Table(
    "task_reported_events",
    metadata,
    Column("company", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("variant", Text, nullable=False),
    Column("iter", BigInteger, nullable=False),
    Column("key", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("url", Text),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("company", "task_id", "type", "metric", "variant", "iter", "key"),
    Index(
        "task_reported_events_company_task_id_type_iter_idx", "company", "task_id", "type", "iter"
    ),
)

# Queues by id and by name (a name is unique within a company).
queues = Table(
    "queues",
    metadata,
    Column("id", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("name", Text, nullable=False),
    _ts("created", nullable=False),
    Column("user_id", Text, nullable=False),
    Column("display_name", Text),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("system_tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("metadata", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    _ts("last_update", nullable=False),
    # The queue's stream head (the row doubles as the stream's snapshot, as a task's does).
    Column("stream_version", Integer, nullable=False),
    Column("head_hash", LargeBinary, nullable=False),
    _ts("head_at", nullable=False),
    PrimaryKeyConstraint("company", "id"),
    Index("queues_id_idx", "id"),
    UniqueConstraint("company", "name"),
)

# A worker's latest state (register, status_report): a plain row, not a read model of the log.
# Heartbeats update it in place; the facts about a worker are events of its stream
# (docs/architecture.md, "Workers"). `reports` numbers its machine-stats reports.
workers = Table(
    "workers",
    metadata,
    Column("company", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("ip", Text),
    _ts("register_time", nullable=False),
    Column("timeout", Integer, nullable=False),
    _ts("last_activity", nullable=False),
    _ts("last_report"),
    Column("task", Text),
    Column("queue", Text),
    Column("queues", ARRAY(Text), nullable=False, server_default="{}"),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("system_tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("reports", BigInteger, nullable=False, server_default="0"),
    Column("gone", Boolean, nullable=False, server_default=text("false")),
    PrimaryKeyConstraint("company", "id"),
    Index("workers_company_last_activity_idx", "company", "last_activity"),
)

# A worker's machine stats, one row per report ({metric: [values]}, `ts` in ms as reported),
# the last workers.MAX_REPORTS of each worker kept (the older are deleted as new ones come).
worker_reports = Table(
    "worker_reports",
    metadata,
    Column("company", Text, nullable=False),
    Column("worker", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("task", Text),
    Column("stats", JSONB, nullable=False),
    PrimaryKeyConstraint("company", "worker", "seq"),
    Index("worker_reports_company_ts_idx", "company", "ts"),
)

# A model-serving container's latest state (serving.register_container, container_status_report):
# a plain row, not a read model of the log, as a worker's (docs/architecture.md, "Serving
# containers"); it counts until last_activity + timeout.
serving_containers = Table(
    "serving_containers",
    metadata,
    Column("company", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("endpoint_name", Text, nullable=False),
    Column("model_name", Text, nullable=False),
    Column("endpoint_url", Text),
    Column("info", JSONB, nullable=False),
    Column("status", JSONB, nullable=False),
    _ts("register_time", nullable=False),
    Column("timeout", Integer, nullable=False),
    _ts("last_activity", nullable=False),
    PrimaryKeyConstraint("company", "id"),
    Index("serving_containers_company_url_idx", "company", "endpoint_url"),
)

# A serving container's chart values, one row per status report (`ts` in ms), kept
# domain/serving.REPORTS_KEPT (older ones are deleted as new ones come).
serving_reports = Table(
    "serving_reports",
    metadata,
    Column("company", Text, nullable=False),
    Column("container", Text, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("endpoint_url", Text, nullable=False),
    Column("values", JSONB, nullable=False),
    PrimaryKeyConstraint("company", "container", "ts"),
    Index("serving_reports_company_url_ts_idx", "company", "endpoint_url", "ts"),
)

# Each queue's waiting line: one row per waiting task, lower ranks first (domain/queues.py).
queue_entries = Table(
    "queue_entries",
    metadata,
    Column("company", Text, nullable=False),
    Column("queue_id", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("rank", BigInteger, nullable=False),
    _ts("added", nullable=False),
    PrimaryKeyConstraint("company", "queue_id", "task_id"),
    Index("queue_entries_company_queue_id_rank_idx", "company", "queue_id", "rank"),
    Index("queue_entries_company_task_id_idx", "company", "task_id"),
)

# Projects by id and by name (a name is unique within a company).
projects = Table(
    "projects",
    metadata,
    Column("id", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("user_id", Text, nullable=False),
    _ts("created", nullable=False),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("system_tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("default_output_destination", Text),
    # The project above it (migration 0014): None at the top level.
    Column("parent", Text),
    # A public project is read-only (projects.make_public).
    Column("public", Boolean, nullable=False, server_default="false"),
    _ts("last_update"),
    PrimaryKeyConstraint("company", "id"),
    Index("projects_id_idx", "id"),
    UniqueConstraint("company", "name"),
    Index("projects_company_parent_idx", "company", "parent"),
)

# Models (migration 0013): the fold of each live model's stream ("model:<id>"), keyed by company
# first (DESIGN §6). The row is also the stream's head, like a task's.
models = Table(
    "models",
    metadata,
    Column("company", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    _ts("created", nullable=False),
    _ts("last_update", nullable=False),
    _ts("last_change", nullable=False),
    Column("last_changed_by", Text, nullable=False),
    Column("uri", Text),
    Column("task", Text),
    Column("parent", Text),
    Column("project", Text),
    Column("comment", Text, nullable=False, server_default=""),
    Column("tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("system_tags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("framework", Text),
    Column("design", JSONB),
    Column("labels", JSONB, nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("ui_cache", JSONB),
    Column("metadata", JSONB, nullable=False),
    Column("last_iteration", BigInteger),
    Column("public", Boolean, nullable=False, server_default=text("false")),
    Column("stream_version", Integer, nullable=False),
    Column("head_hash", LargeBinary, nullable=False),
    _ts("head_at", nullable=False),
    PrimaryKeyConstraint("company", "id"),
    Index("models_company_task_idx", "company", "task"),
    Index("models_company_project_idx", "company", "project"),
    # Public models are read by every company: few, so a partial index finds them.
    Index("models_public_idx", "id", postgresql_where=text("public")),
)

# The daily activity rollup (a catch-up projector): per company, project and UTC day.
# The rollup's counters, in column order (its projector writes them, analytics reads them).
ACTIVITY_COUNTERS = (
    "tasks_created",
    "status_changes",
    "completed",
    "failed",
    "metric_reports",
    "metric_points",
)
activity_daily = Table(
    "activity_daily",
    metadata,
    Column("company", Text, nullable=False),
    Column("project", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("tasks_created", BigInteger, nullable=False, server_default="0"),
    Column("status_changes", BigInteger, nullable=False, server_default="0"),
    Column("completed", BigInteger, nullable=False, server_default="0"),
    Column("failed", BigInteger, nullable=False, server_default="0"),
    Column("metric_reports", BigInteger, nullable=False, server_default="0"),
    Column("metric_points", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("company", "project", "day"),
)

# The rollup's own memory of each task's project, as the log says.
activity_task_projects = Table(
    "activity_task_projects",
    metadata,
    Column("task_id", Text, nullable=False),
    Column("company", Text, nullable=False),
    Column("project", Text, nullable=False),
    PrimaryKeyConstraint("company", "task_id"),
    Index("activity_task_projects_task_id_idx", "task_id"),
)

# Where each catch-up projector has got to in the log, written with its rows (exactly once).
projector_checkpoints = Table(
    "projector_checkpoints",
    metadata,
    # One row per projector and tenant on a sharded log; company '' (the whole log) on a
    # single node (migration 0022, projections/checkpoints.py).
    Column("company", Text, primary_key=True, server_default=""),
    Column("name", Text, primary_key=True),
    Column("tx", Xid8(), nullable=False),
    Column("position", BigInteger, nullable=False),
    _ts("updated_at", nullable=False),
)

# A client request id -> the first result, so a retried command is not applied twice.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("company", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("fingerprint", LargeBinary, nullable=False),
    Column("response", JSONB, nullable=False),
    _ts("created_at", nullable=False),
    PrimaryKeyConstraint("company", "request_id"),
)

# API credentials: the secret is kept only as a salted scrypt hash.
credentials = Table(
    "credentials",
    metadata,
    Column("access_key", Text, primary_key=True),
    Column("company", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("secret_salt", LargeBinary, nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    _ts("created_at", nullable=False),
    _ts("revoked_at"),
)

# Secrets of the server itself (the token signing key), shared by every process and host.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
    _ts("created_at", nullable=False),
)

# Session tokens a logout ended (by `jti`), kept until they would have expired anyway.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", Text, primary_key=True),
    _ts("expires_at", nullable=False),
    Index("revoked_tokens_expires_at", "expires_at"),
)

# What the web UI keeps per user (users.set_preferences): a setting, not a fact in the log.
user_preferences = Table(
    "user_preferences",
    metadata,
    Column("company", Text, primary_key=True),
    Column("user_id", Text, primary_key=True),
    Column("preferences", JSONB, nullable=False),
    _ts("updated_at", nullable=False),
)

# Where each listing scroll (tasks.get_all_ex `scroll_id`) has got: one id for the scroll's
# life, as ClearML's Redis state, swept once expired. A reader's cursor, not a fact in the log.
scroll_states = Table(
    "scroll_states",
    metadata,
    Column("company", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    _ts("expires_at", nullable=False),
    Index("scroll_states_expires_at", "company", "expires_at"),
)
