"""get_all by project and status: one index on (company, project, status) instead of
(company, project), which it still serves as a prefix.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

W5's filter (a project, two statuses, a tag, newest first) found the project's rows through
(company, project) and then read every one of them from the heap to test its status: on
100,000 tasks, 4,900 rows over 2,800 heap pages to keep 254. With the status in the index the
same query reads 1,000 (EXPLAIN ANALYZE: 11.0 ms before, 4.5 ms after).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("tasks_company_project_status_idx", "tasks", ["company", "project", "status"])
    op.drop_index("tasks_company_project_idx", table_name="tasks")


def downgrade() -> None:
    op.create_index("tasks_company_project_idx", "tasks", ["company", "project"])
    op.drop_index("tasks_company_project_status_idx", table_name="tasks")
