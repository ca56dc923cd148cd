"""Drop the log's NOTIFY trigger: the service wakes the runners after each commit instead.

Revision ID: 0026_notify_after_commit
Revises: 0025_run_pinned
Create Date: 2026-12-06

A transaction that sends a NOTIFY takes one lock for the whole database at its commit and
holds it until the commit's WAL flush is done, so with the trigger (0007) every command that
appended events committed one after the other, each waiting for its own fsync (docs/
benchmarks.md, W8). The service now sends the NOTIFY as a transaction of its own right after
the COMMIT (store/transactions.py, send_wake_up), on the coordinator on Citus too, where
`db distribute` had to drop the trigger. Runners poll anyway: only a wake-up moved.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0026_notify_after_commit"
down_revision: str | None = "0025_run_pinned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only when it is there: Citus refuses any trigger command on a distributed table, a
    # DROP TRIGGER IF EXISTS included, and `db distribute` has already dropped it there.
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_trigger WHERE tgname = 'events_notify'")).first():
        op.execute("DROP TRIGGER events_notify ON events")
    op.execute("DROP FUNCTION IF EXISTS events_notify()")


def downgrade() -> None:
    bind = op.get_bind()
    # Not back on a distributed log: Citus refuses the trigger there (0024 had none either).
    if bind.execute(text("SELECT to_regclass('pg_dist_partition')")).scalar() is not None:
        sharded = bind.execute(
            text("SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'events'::regclass")
        ).first()
        if sharded:
            return
    op.execute(
        "CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('tasktrack_events', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_notify()"
    )
