"""Replacement tables: a live table's twin, filled aside, then swapped in by renaming it.

A rebuild must not hold writers off for as long as it takes to write every row again (DESIGN:
writers never wait on readers). So the replay fills a twin of each live table (the same
columns, defaults and checks, no indexes: every row is written once, by COPY, and an index
built once at the end costs far less than one maintained row by row), then builds the twin's
keys and indexes, grants and statistics, all while writers go on. The swap is then catalog
work only: the live table renamed away, the twin renamed in, the views that read the table
pointed at the twin (a view is bound to a table, not to its name), the old table dropped and
the twin's keys and indexes given the live ones' names. Nothing is copied under the lock.

A twin lives in the live table's schema under a suffixed name (`tasks__rebuild`). A replay
killed half way leaves its twins behind, which the next one drops before it starts; the live
tables are only ever touched by the swap, one transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
import psycopg
from psycopg import sql


class Rename(msgspec.Struct, frozen=True):
    """A key or index of a twin, to be given its live counterpart's name at the swap."""

    table: str  # the live table's name (the twin's, after the swap)
    kind: str  # "constraint" or "index"
    temporary: str
    final: str


def twins(live: Iterable[str], suffix: str) -> dict[str, str]:
    return {t: f"{t}__{suffix}" for t in live}


def create(conn: psycopg.Connection[Any], names: Mapping[str, str]) -> None:
    """Empty twins of the live tables, replacing any a killed replay left behind."""
    for live, twin in names.items():
        _require_current_schema(conn, live)
        conn.execute(f"DROP TABLE IF EXISTS {twin}")
        # Columns, defaults, NOT NULL and CHECK constraints (with their names); the keys and
        # indexes come later (build), once every row is in.
        conn.execute(
            f"CREATE TABLE {twin} (LIKE {live} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)"
        )


def drop(conn: psycopg.Connection[Any], names: Mapping[str, str]) -> None:
    for twin in names.values():
        conn.execute(f"DROP TABLE IF EXISTS {twin}")


def build(
    conns: Sequence[psycopg.Connection[Any]], names: Mapping[str, str], *, indexes: bool
) -> list[Rename]:
    """The live tables' primary keys and unique constraints on the twins (with `indexes`,
    also every other index, the owner, the grants and statistics), under temporary names;
    return the renames the swap does.

    The keys and indexes are independent (twins nobody else reads), so they run on every
    connection given, each committed on its own: index builds are the server's work, and on
    two connections they use two cores. (In one transaction per connection they could
    deadlock: a key takes its table's ACCESS EXCLUSIVE lock, an index its SHARE lock.) Then,
    per table, its owner, grants and statistics, one table per connection at a time: those
    update the table's catalog row, which two sessions at once must not ("tuple concurrently
    updated"), and GRANT takes no lock that would queue them.
    """
    statements: list[list[str]] = []
    after: list[list[str]] = []
    renames: list[Rename] = []
    main = conns[0]
    for live, twin in names.items():
        keys = main.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
            (live,),
        ).fetchall()
        for n, (name, definition) in enumerate(keys):
            temporary = f"{twin}__k{n}"
            statements.append([f"ALTER TABLE {twin} ADD CONSTRAINT {temporary} {definition}"])
            renames.append(Rename(live, "constraint", temporary, name))
        if not indexes:
            continue
        others = main.execute(
            "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname",
            (live,),
        ).fetchall()
        for n, (name, unique, definition) in enumerate(others):
            temporary = f"{twin}__i{n}"
            # "CREATE [UNIQUE] INDEX name ON schema.table USING method (…) [WHERE …]": the
            # part from USING on is the index itself, the rest is rewritten for the twin.
            method = definition.split(" USING ", 1)[1]
            unique_word = "UNIQUE " if unique else ""
            statements.append([f"CREATE {unique_word}INDEX {temporary} ON {twin} USING {method}"])
            renames.append(Rename(live, "index", temporary, name))
        # Statistics for the planner: a swapped-in table would otherwise be planned blind.
        after.append([*_grants(main, live, twin), f"ANALYZE {twin}"])
    main.commit()
    _run_on(conns, statements)
    _run_on(conns, after)
    return renames


def _run_on(conns: Sequence[psycopg.Connection[Any]], jobs: list[list[str]]) -> None:
    """Run the jobs on the connections, in parallel; a job's statements in order, on one
    connection, each in its own transaction."""
    pending: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    errors: list[BaseException] = []

    def work(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.commit()
        while not errors:
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            try:
                for statement in job:
                    conn.execute(statement)
                    conn.commit()
            except BaseException as exc:
                conn.rollback()
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns[1:]]
    for thread in threads:
        thread.start()
    work(conns[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _grants(conn: psycopg.Connection[Any], live: str, twin: str) -> list[str]:
    """The statements that give the twin the live table's owner and grants (those of
    store/privileges.py, or any an operator added)."""
    out: list[str] = []
    row = conn.execute(
        "SELECT pg_get_userbyid(relowner), pg_get_userbyid(relowner) = current_user "
        "FROM pg_class WHERE oid = %s::regclass",
        (live,),
    ).fetchone()
    assert row is not None
    if not row[1]:
        owner = sql.SQL("ALTER TABLE {} OWNER TO {}").format(
            sql.Identifier(twin), sql.Identifier(row[0])
        )
        out.append(owner.as_string(conn))
    grants = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
        (live,),
    ).fetchall()
    for grantee, privilege, grantable in grants:
        who = sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee)
        grant = sql.SQL("GRANT {} ON {} TO {}{}").format(
            sql.SQL(privilege),
            sql.Identifier(twin),
            who,
            sql.SQL(" WITH GRANT OPTION" if grantable else ""),
        )
        out.append(grant.as_string(conn))
    return out


def swap(conn: psycopg.Connection[Any], names: Mapping[str, str], renames: list[Rename]) -> None:
    """Put the twins in the live tables' place, in the caller's transaction (which must hold
    the live tables in ACCESS EXCLUSIVE mode): catalog changes only, whatever the rows."""
    live = list(names)
    # The views that read a live table, as their text names it (taken before any rename).
    views = conn.execute(
        "SELECT DISTINCT v.oid, v.oid::regclass::text, pg_get_viewdef(v.oid) "
        "FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = r.ev_class "
        "WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND d.refobjid = ANY(%s::text[]::regclass[]) AND v.oid <> d.refobjid ORDER BY v.oid",
        (live,),
    ).fetchall()
    for table in live:
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}__retired")
    for table, twin in names.items():
        conn.execute(f"ALTER TABLE {twin} RENAME TO {table}")
    for _, view, definition in views:
        conn.execute(f"CREATE OR REPLACE VIEW {view} AS {definition.rstrip().rstrip(';')}")
    for table in live:
        conn.execute(f"DROP TABLE {table}__retired")  # RESTRICT: nothing may still read it
    for r in renames:
        if r.kind == "constraint":
            conn.execute(f"ALTER TABLE {r.table} RENAME CONSTRAINT {r.temporary} TO {r.final}")
        else:
            conn.execute(f"ALTER INDEX {r.temporary} RENAME TO {r.final}")


def _require_current_schema(conn: psycopg.Connection[Any], live: str) -> None:
    row = conn.execute(
        "SELECT relnamespace::regnamespace::text = current_schema() FROM pg_class "
        "WHERE oid = %s::regclass",
        (live,),
    ).fetchone()
    if not row or not row[0]:
        raise RuntimeError(f"table {live} is not in the current schema: cannot replace it")
