"""Catch-up checkpoints per tenant, and an index for one tenant's commit-safe reads.

Revision ID: 0022_tenant_checkpoints
Revises: 0021_company_keys
Create Date: 2026-12-06

On a log sharded by tenant (Citus, `tasktrack db distribute`) there is no commit-safe order of
the whole log, only one per tenant (docs/architecture.md, "Citus"), so a catch-up projector
keeps one checkpoint per tenant there: `projector_checkpoints` is keyed by (company, name),
led by `company` so that it can be sharded beside the log. On a single PostgreSQL nothing
changes in meaning: the existing rows get company '' (ALL_TENANTS in
projections/checkpoints.py), which stands for the whole log in its one commit-safe order, and
the runner keeps reading and writing that one row per projector.

`events_company_tx_position_idx` serves a tenant's reads in its commit-safe order
(`eventlog.read_all(company=...)`: the per-tenant runner, export and anchor).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_tenant_checkpoints"
down_revision: str | None = "0021_company_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "projector_checkpoints",
        sa.Column("company", sa.Text(), nullable=False, server_default=""),
    )
    op.execute(
        "ALTER TABLE projector_checkpoints DROP CONSTRAINT projector_checkpoints_pkey, "
        "ADD CONSTRAINT projector_checkpoints_pkey PRIMARY KEY (company, name)"
    )
    op.create_index("events_company_tx_position_idx", "events", ["company", "tx", "position"])


def downgrade() -> None:
    op.drop_index("events_company_tx_position_idx", table_name="events")
    # A per-tenant checkpoint has no meaning for the whole log: only the '' rows go back.
    op.execute("DELETE FROM projector_checkpoints WHERE company <> ''")
    op.execute(
        "ALTER TABLE projector_checkpoints DROP CONSTRAINT projector_checkpoints_pkey, "
        "ADD CONSTRAINT projector_checkpoints_pkey PRIMARY KEY (name)"
    )
    op.drop_column("projector_checkpoints", "company")
