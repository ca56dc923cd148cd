"""The distributed layout's registry (store/layout.py) against the schema alembic builds: every
table placed exactly once, every key of a sharded table holding the tenant column."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tasktrack.store import distribute, layout
from tasktrack.store.engine import raw


def test_every_table_of_the_migrated_schema_is_placed_exactly_once(own_engine: Engine) -> None:
    with own_engine.connect() as conn:
        tables = distribute.schema_tables(conn)
    placed = layout.classified()  # raises on a table listed twice
    assert distribute.unclassified(tables) == [], "add the new table to store/layout.py"
    assert sorted(set(placed) - tables) == [], "store/layout.py names a table that is gone"
    assert placed["events"] == "distributed"
    assert layout.DISTRIBUTED[0] == "events"


def test_every_key_of_a_sharded_table_holds_the_tenant_column(own_engine: Engine) -> None:
    """Citus accepts a primary or unique key on a sharded table only with its distribution
    column in it; and a key led by it keeps one tenant's rows together on a single node."""
    with own_engine.connect() as conn:
        rows = (
            raw(conn)
            .execute(
                "SELECT t.relname, c.conname, "
                "       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) "
                "             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n "
                "             ORDER BY k.i)::text[] "
                "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "WHERE c.contype IN ('p', 'u') AND t.relname = ANY(%s)",
                (list(layout.DISTRIBUTED),),
            )
            .fetchall()
        )
    keyed = {r[0] for r in rows if r[1].endswith("_pkey")}
    assert keyed == set(layout.DISTRIBUTED), "every sharded table has a primary key"
    bad = [f"{t}.{name} {cols}" for t, name, cols in rows if cols[0] != "company"]
    assert bad == []


def test_distribute_refuses_a_plain_postgresql_and_changes_nothing(own_engine: Engine) -> None:
    with pytest.raises(distribute.NotCitus, match="no citus extension"):
        distribute.distribute(own_engine)
    with own_engine.connect() as conn:
        trigger = (
            raw(conn)
            .execute("SELECT count(*) FROM pg_trigger WHERE tgname = %s", (distribute.TX_TRIGGER,))
            .fetchone()
        )
    assert trigger == (0,), "refused before its first change: no worker-side tx stamping here"
