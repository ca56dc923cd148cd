"""Keys led by `company`: the log and every growing read model, ready to shard by tenant.

Revision ID: 0021_company_keys
Revises: 0020_webui_sessions
Create Date: 2026-12-06

A distributed engine (Citus, `tasktrack db distribute`) shards a table by one column and
accepts a primary or unique key only if it holds that column; tasktrack shards by `company`, so
every key of a growing table is led by it: the log's position and its (stream, version) key,
and each read model's id. Lookups that know only an id (a task's row by id, a stream by its id)
keep a plain index on it, so that a single PostgreSQL answers them as fast as before. Nothing
changes for a single node but the keys' names: no row moves, no value changes.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_company_keys"
down_revision: str | None = "0020_webui_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old primary key, new primary key, plain index kept for id-only lookups)
_PRIMARY = (
    ("events", ("position",), ("company", "position"), None),
    ("tasks", ("id",), ("company", "id"), ("id",)),
    (
        "task_status_history",
        ("task_id", "stream_version"),
        ("company", "task_id", "stream_version"),
        ("task_id", "stream_version"),
    ),
    (
        "task_metrics",
        ("task_id", "metric", "variant"),
        ("company", "task_id", "metric", "variant"),
        ("task_id",),
    ),
    ("queues", ("id",), ("company", "id"), ("id",)),
    ("projects", ("id",), ("company", "id"), ("id",)),
    ("activity_task_projects", ("task_id",), ("company", "task_id"), ("task_id",)),
)


def _index_name(table: str, columns: Sequence[str]) -> str:
    return f"{table}_{'_'.join(columns)}_idx"


def upgrade() -> None:
    for table, _, new, lookup in _PRIMARY:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
            f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(new)})"
        )
        if lookup is not None:
            op.create_index(_index_name(table, lookup), table, list(lookup))
    # The log's stream key, led by company; reads of a stream by its id keep their own index.
    op.execute(
        "ALTER TABLE events DROP CONSTRAINT events_stream_id_stream_version_key, "
        "ADD CONSTRAINT events_company_stream_id_stream_version_key "
        "UNIQUE (company, stream_id, stream_version)"
    )
    op.create_index(
        "events_stream_id_stream_version_idx", "events", ["stream_id", "stream_version"]
    )
    # The primary key (company, id) now serves what this index did.
    op.drop_index("tasks_company_id_idx", table_name="tasks")


def downgrade() -> None:
    op.create_index("tasks_company_id_idx", "tasks", ["company", "id"])
    op.drop_index("events_stream_id_stream_version_idx", table_name="events")
    op.execute(
        "ALTER TABLE events DROP CONSTRAINT events_company_stream_id_stream_version_key, "
        "ADD CONSTRAINT events_stream_id_stream_version_key UNIQUE (stream_id, stream_version)"
    )
    for table, old, _, lookup in reversed(_PRIMARY):
        if lookup is not None:
            op.drop_index(_index_name(table, lookup), table_name=table)
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
            f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(old)})"
        )
