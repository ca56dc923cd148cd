"""The hash chain covers the tenant: `events.chain` names the rule each event was hashed under.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Rule 1 hashed stream, version, type, schema version, time, data and metadata, but not the
`company` column that every filter and projection read (a security review moved a task to
another tenant by editing only that column of an export). Rule 2 also hashes the company
(tasktrack/domain/chain.py). Events already in the log keep rule 1 and still verify under it;
every event appended after this migration uses rule 2. The column is added with a constant
default, which PostgreSQL stores in the catalogue: no row is rewritten (the append-only
triggers are not involved), and the default is then dropped so that every writer must say
which rule it hashed under.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events", sa.Column("chain", sa.SmallInteger(), nullable=False, server_default="1")
    )
    op.alter_column("events", "chain", server_default=None)
    op.create_check_constraint("chain", "events", "chain IN (1, 2)")


def downgrade() -> None:
    # Revision 0010's code hashes every event under rule 1: it would call each rule-2 event
    # broken. Refuse rather than leave a log its own audit cannot verify.
    newer = op.get_bind().execute(sa.text("SELECT count(*) FROM events WHERE chain = 2"))
    count = newer.scalar_one()
    if count:
        raise RuntimeError(
            f"{count} events are hashed under chain rule 2, which revision 0010 cannot "
            "verify: export the log (tasktrack export) and import it elsewhere instead"
        )
    op.execute("ALTER TABLE events DROP CONSTRAINT events_chain_check")
    op.drop_column("events", "chain")
