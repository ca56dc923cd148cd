"""`tasktrack_run_pinned(company, statement)`: one tenant's projector statement, run whole.

Revision ID: 0025_run_pinned
Revises: 0024_handout_index
Create Date: 2026-12-06

A command's projector statements (metric points, task_metrics, log lines, reported events)
take its rows from parameters (`unnest`). Citus cannot run such a statement on a shard: it
pulls the rows to the coordinator and copies them back over a second connection, so
`events.add` committed in two phases. Sent as the argument of this function, which
`tasktrack db distribute` distributes by `p_company` (co-located with `events`, delegation
forced), the statement runs whole on the worker holding the tenant, over the command's one
connection (docs/architecture.md, "Citus"). On a single node it is created too (one schema
everywhere) but not called: the statements run as they are, prepared by psycopg, which a
statement run through EXECUTE is not. SECURITY INVOKER (the default): the caller's
privileges apply.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_run_pinned"
down_revision: str | None = "0024_handout_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION tasktrack_run_pinned(p_company text, p_statement text) RETURNS void "
        "LANGUAGE plpgsql AS $$ BEGIN EXECUTE p_statement; END $$"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION tasktrack_run_pinned(text, text)")
