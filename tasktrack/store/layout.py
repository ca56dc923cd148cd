"""Where each table lives on a distributed PostgreSQL (Citus): sharded by tenant, or replicated.

Every table of the schema is listed here exactly once (a test compares this registry with the
migrated schema, so a new table cannot be forgotten). `tasktrack db distribute` reads it.
"""

from __future__ import annotations

from typing import Final

# The column every growing table is sharded by: one tenant's rows of every table live on one
# worker, so a command of one tenant runs on one node in one phase (no two-phase commit).
DISTRIBUTION_COLUMN: Final = "company"

# Tables that grow with use: sharded by `company` and co-located with the log (same shard
# count, same hash ranges), so joins and transactions of one tenant stay on one worker. Each
# one's primary and unique keys hold `company` (migration 0021_company_keys and earlier).
DISTRIBUTED: Final[tuple[str, ...]] = (
    "events",  # first: the others are co-located with it
    "tasks",
    "task_status_history",
    "task_metrics",
    "task_log_lines",
    "task_metric_points",
    "task_metric_series",
    "task_runs",
    "task_reported_events",
    "queues",
    "queue_entries",
    "workers",
    "worker_reports",
    "projects",
    "models",
    "activity_daily",
    "activity_task_projects",
    "idempotency_keys",
    "serving_containers",
    "serving_reports",
    "user_preferences",
    # Catch-up checkpoints, one per projector and tenant (projections/checkpoints.py): a
    # tenant's batch writes its checkpoint beside its rows, on the worker holding them.
    "projector_checkpoints",
    "scroll_states",
)

# Small tables read across tenants, changed rarely: a copy on every node (reference tables),
# so a join or a check against them never leaves the node a command runs on.
REFERENCE: Final[tuple[str, ...]] = (
    "credentials",
    "server_secrets",
    # Logged-out web UI tokens: looked up by token id on every cookie request, swept on expiry.
    "revoked_tokens",
)

# Tables that stay on the coordinator alone: alembic's own bookkeeping.
COORDINATOR: Final[tuple[str, ...]] = ("alembic_version",)


def classified() -> dict[str, str]:
    """Every table of the registry and its place: 'distributed', 'reference' or 'coordinator'."""
    places: dict[str, str] = {}
    for place, tables in (
        ("distributed", DISTRIBUTED),
        ("reference", REFERENCE),
        ("coordinator", COORDINATOR),
    ):
        for table in tables:
            if table in places:
                raise ValueError(f"{table} is listed twice in the distributed layout")
            places[table] = place
    return places
