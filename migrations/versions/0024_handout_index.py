"""A partial index of the log's handouts by queue: a queue's story reads them from its tasks.

Revision ID: 0024_handout_index
Revises: 0023_scroll_states
Create Date: 2026-12-06

Handouts (queues.get_next_task) are TaskHandedOut events on the tasks' streams, so that
agents of one queue do not queue on one stream's lock (docs/benchmarks.md, W8). A queue's
history, line waits and metrics read them back by (company, queue): this index holds only
those rows, so the log's other events cost nothing to it and a read never scans the log.
Logs written before keep their QueueTaskHandedOut on queue streams; nothing is rewritten.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_handout_index"
down_revision: str | None = "0023_scroll_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX events_handouts_idx ON events (company, (data ->> 'queue'), position) "
        "WHERE type = 'TaskHandedOut'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX events_handouts_idx")
