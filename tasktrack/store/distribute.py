"""`tasktrack db distribute`: a migrated database on a Citus coordinator, sharded by tenant.

Which table goes where is store/layout.py's; this module checks the database and applies it.
Each table is distributed in its own transaction (Citus copies its rows to the shards), and a
table already in place is skipped, so a run that stopped halfway is finished by running it again.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, Engine

from tasktrack.store import eventlog, layout
from tasktrack.store.engine import raw

# The events table's NOTIFY trigger (migration 0007, dropped by 0026: the service notifies after
# its commit, on the coordinator). A NOTIFY inside a transaction that Citus commits in two phases
# makes the PREPARE fail, and in one phase it is sent on the worker, where nobody listens: a
# schema older than 0026 that is distributed loses it here (docs/architecture.md, "Citus").
NOTIFY_TRIGGER = "events_notify"


# `events.tx` stamped on the worker that holds the row. Its default, pg_current_xact_id(), is
# evaluated on the coordinator, whose transaction ids are unrelated to the worker's, where a
# tenant's commit-safe read (eventlog.read_all(company=...), routed to that worker) takes its
# horizon: stamped there, the two are the same counter again (docs/architecture.md, "Citus").
TX_TRIGGER = "events_stamp_tx"
_TX_FUNCTION = (
    "CREATE OR REPLACE FUNCTION events_stamp_tx() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN NEW.tx := pg_current_xact_id(); RETURN NEW; END $$"
)


# Migration 0025's runner of one tenant's projector statement (projections/pinning.py): on
# Citus distributed by its company argument, so a call runs whole on the tenant's worker.
RUN_PINNED = "tasktrack_run_pinned(text,text)"


class NotCitus(RuntimeError):
    """The database has no Citus extension: the sharded layout cannot be applied there."""


class NotYetDistributed(RuntimeError):
    """A command that cannot yet run on a sharded log (it would stall or skip events)."""


class Unclassified(RuntimeError):
    """A table of the schema is not in store/layout.py: where it goes must be decided first."""


class Placed(msgspec.Struct, frozen=True, kw_only=True):
    """What `distribute` did to one table."""

    table: str
    place: str  # 'distributed', 'reference' or 'coordinator'
    changed: bool  # False: it was already there


def citus_version(conn: Connection) -> str | None:
    """The Citus extension's version in this database (None on a plain PostgreSQL)."""
    row = (
        raw(conn).execute("SELECT extversion FROM pg_extension WHERE extname = 'citus'").fetchone()
    )
    return None if row is None else str(row[0])


def log_is_distributed(conn: Connection) -> bool:
    """Is `events` sharded (Citus)? Then the log has no single commit-safe order any more,
    only one per tenant (eventlog.read_all(company=...))."""
    return eventlog.sharded(raw(conn))


def refuse_on_distributed_log(conn: Connection, action: str) -> None:
    """Raise NotYetDistributed when the log is sharded: `action` reads the whole log in one
    commit-safe order, which a sharded log does not have yet (docs/architecture.md, "Citus")."""
    if log_is_distributed(conn):
        raise NotYetDistributed(
            f"{action} reads the whole log in one commit-safe order, which a log sharded by "
            "tenant (tasktrack db distribute) does not have yet: only per-tenant reads are "
            "safe there (docs/architecture.md, Citus)"
        )


def schema_tables(conn: Connection) -> set[str]:
    """The tables of the schema tasktrack is migrated into (the current schema)."""
    rows = raw(conn).execute(
        "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relkind IN ('r', 'p')"
    )
    return {str(r[0]) for r in rows}


def unclassified(tables: set[str]) -> list[str]:
    """The tables the layout registry does not place."""
    return sorted(tables - set(layout.classified()))


def current_places(conn: Connection) -> dict[str, str]:
    """Where Citus has each table now: 'h' hash-distributed, 'n' reference/local, absent if not."""
    rows = raw(conn).execute(
        "SELECT logicalrelid::regclass::text, partmethod, repmodel FROM pg_dist_partition"
    )
    return {str(r[0]): f"{r[1]}{r[2]}" for r in rows}


def _place(conn: Connection, table: str, place: str, now: str | None) -> bool:
    """Put one table in its place; False if it was there already."""
    pg = raw(conn)
    if _in_place(place, now):
        return False
    if place == "distributed":
        colocate = "none" if table == layout.DISTRIBUTED[0] else layout.DISTRIBUTED[0]
        # Triggers on a sharded table are refused unless allowed: the log's append-only
        # triggers only raise on UPDATE, DELETE and TRUNCATE and touch no other table, which
        # is what makes copying them to every shard safe (docs/architecture.md, "Citus").
        pg.execute("SET LOCAL citus.enable_unsafe_triggers = on")
        pg.execute(
            "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
            (table, layout.DISTRIBUTION_COLUMN, colocate),
        )
        return True
    if place == "reference":
        pg.execute("SELECT create_reference_table(%s)", (table,))
        return True
    return False  # 'coordinator': Citus leaves a plain table on the coordinator


def check(conn: Connection) -> None:
    """Raise NotCitus on a plain PostgreSQL and Unclassified when the schema holds a table the
    registry does not place."""
    if citus_version(conn) is None:
        raise NotCitus(
            "this database has no citus extension: `tasktrack db distribute` needs a Citus "
            "coordinator (CREATE EXTENSION citus, workers added); a plain PostgreSQL keeps "
            "the single-node layout, which needs no distribute step"
        )
    missing = unclassified(schema_tables(conn))
    if missing:
        raise Unclassified(
            f"tables not placed in store/layout.py: {', '.join(missing)}; "
            "add each to DISTRIBUTED, REFERENCE or COORDINATOR"
        )


def _in_place(place: str, now: str | None) -> bool:
    if place == "distributed":
        return now is not None and now.startswith("h")
    if place == "reference":
        return now is not None and now.endswith("t")
    return True


def unplaced(conn: Connection) -> list[str]:
    """The tables not yet where store/layout.py puts them (none once distributed)."""
    now = current_places(conn)
    return [t for t, place in layout.classified().items() if not _in_place(place, now.get(t))]


def distribute(engine: Engine) -> list[Placed]:
    """Apply store/layout.py to the database (see the module docstring). Raises NotCitus on a
    plain PostgreSQL and Unclassified when the schema holds a table the registry does not
    place, before changing anything."""
    with engine.connect() as conn:
        check(conn)
    done: list[Placed] = []
    with engine.begin() as conn:
        # Only when it is there: Citus refuses any trigger command on a sharded table, a
        # DROP TRIGGER IF EXISTS included, so a second run must not send one.
        pg = raw(conn)
        if pg.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (NOTIFY_TRIGGER,)).fetchone():
            pg.execute(f"DROP TRIGGER {NOTIFY_TRIGGER} ON events")
        # Created before `events` is distributed, which copies it to every shard with the
        # append-only ones (a trigger command on a sharded table is refused).
        if not pg.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (TX_TRIGGER,)).fetchone():
            pg.execute(_TX_FUNCTION)
            pg.execute(
                f"CREATE TRIGGER {TX_TRIGGER} BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION events_stamp_tx()"
            )
    for table, place in layout.classified().items():
        with engine.begin() as conn:
            now = current_places(conn).get(table)
            changed = _place(conn, table, place, now)
        done.append(Placed(table=table, place=place, changed=changed))
    with engine.begin() as conn:
        # After `events` is placed (it is co-located with it). Delegation forced: a command
        # calls it inside its transaction, after its other statements, where Citus would
        # otherwise run the function on the coordinator (docs/architecture.md, "Citus").
        # Calling it again on a second run only sets the same metadata.
        raw(conn).execute(
            f"SELECT create_distributed_function('{RUN_PINNED}', "
            "distribution_arg_name := 'p_company', colocate_with := 'events', "
            "force_delegation := true)"
        )
    return done
