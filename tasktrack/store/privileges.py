"""Least privilege: what the application role may do to each relation, granted exactly.

The schema has an owner (the role that runs `tasktrack db upgrade`): it owns every table, view
and function, and alone may change the schema, rebuild read models or manage credentials. The
service (`tasktrack serve`, the Python API, `tasktrack projections run`, the read-only CLI)
runs as an application role that owns nothing and holds only the privileges below: it can
append to the log and read it, but not UPDATE, DELETE or TRUNCATE it (the triggers on `events`
are the first wall, these grants the second).

An application role is recognised by the one privilege only it is given: INSERT on `events`.
So the grants themselves are the record of who the application roles are (nothing to keep in
step, and a dropped role simply disappears from it), and `tasktrack db upgrade` re-applies
this table to each of them after migrating: a migration that adds a table leaves them working.
Default privileges (ALTER DEFAULT PRIVILEGES) are not used: they grant one fixed set on every
future table, too much for a new log-like table, and apply only to objects their setter creates.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from psycopg import sql
from sqlalchemy import Connection, Engine

from tasktrack.store.engine import raw

# Every relation of the schema and what the application role may do with it. Nothing else is
# granted; a relation missing here is granted nothing (tests/integration/test_least_privilege.py
# fails until a new table or view is added here).
APP_PRIVILEGES: Mapping[str, tuple[str, ...]] = {
    # The log: appended to and read, never rewritten.
    "events": ("SELECT", "INSERT"),
    # Inline read models, written by every command; a deleted task's rows are deleted.
    "tasks": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "task_status_history": ("SELECT", "INSERT", "DELETE"),
    "task_metrics": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # A task's log lines (renumbered after events.clear_task_log) and series (rewritten in
    # place for a repeated iteration).
    "task_log_lines": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "task_metric_points": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "task_metric_series": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "task_runs": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # Plots and debug images: a repeated key rewrites its row; a reset or deletion removes them.
    "task_reported_events": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # Queues are renamed, retagged and deleted; their lines change with every enqueue.
    "queues": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "queue_entries": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # Projects are renamed, moved and deleted (merged or deleted projects' rows go).
    "projects": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # Models: a row per live model, rewritten by each change and removed when deleted.
    "models": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # The catch-up read model and the runners' checkpoints (`tasktrack projections run`).
    "activity_daily": ("SELECT", "INSERT", "UPDATE"),
    "activity_task_projects": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "projector_checkpoints": ("SELECT", "INSERT", "UPDATE"),
    # A request id's first answer: written once, never changed.
    "idempotency_keys": ("SELECT", "INSERT"),
    # Credentials are the owner's to create and revoke; the server only checks them.
    "credentials": ("SELECT",),
    # The token signing key: created by the first process that needs it, never replaced.
    "server_secrets": ("SELECT", "INSERT"),
    # Workers' latest state and their bounded machine-stats series: rows, not events
    # (docs/architecture.md, "Workers"); a silent worker's rows are purged after a while.
    "workers": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "worker_reports": ("SELECT", "INSERT", "DELETE"),
    # Serving containers the same way (docs/architecture.md, "Serving containers"): the latest
    # status row is upserted and removed on unregister; the chart series is upserted per
    # bucket and trimmed to a week.
    "serving_containers": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "serving_reports": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # The schema revision, checked at start-up.
    "alembic_version": ("SELECT",),
    # The status analytics views (migration 0009).
    "task_status_intervals": ("SELECT",),
    "task_status_durations": ("SELECT",),
    "task_queue_waits": ("SELECT",),
    "status_daily": ("SELECT",),
    # Web UI sessions (docs/architecture.md, "Web UI sessions"): a logout revokes a token and
    # sweeps expired revocations; a user's preferences row is created and rewritten.
    "revoked_tokens": ("SELECT", "INSERT", "DELETE"),
    "user_preferences": ("SELECT", "INSERT", "UPDATE"),
    # Listing scrolls (docs/architecture.md, "Listing scrolls"): a scroll's row is created,
    # moved on with each page, and swept once expired.
    "scroll_states": ("SELECT", "INSERT", "UPDATE", "DELETE"),
}

# Relations whose owner is the schema's owner: the bookkeeping table alembic creates first.
OWNER_MARK = "alembic_version"
GRANT_COMMAND = "tasktrack db grant ROLE"


class NotOwner(RuntimeError):
    """The connected role may not change the schema or do an owner's work."""


class BadGrantee(ValueError):
    """The role cannot be made an application role (missing, a superuser, or the owner)."""


class Granted(msgspec.Struct, frozen=True, kw_only=True):
    """What an application role was given on one relation."""

    relation: str
    privileges: tuple[str, ...]


def _scalar(conn: Connection, query: str, *params: object) -> object:
    row = raw(conn).execute(query, params).fetchone()
    return None if row is None else row[0]


def _mark(conn: Connection) -> tuple[str, str, int] | None:
    """(owner, schema name, schema oid) of the schema's bookkeeping table, if migrated."""
    row = (
        raw(conn)
        .execute(
            "SELECT r.rolname, n.nspname, n.oid FROM pg_class c "
            "JOIN pg_roles r ON r.oid = c.relowner JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(%s)",
            (OWNER_MARK,),
        )
        .fetchone()
    )
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]))


def schema_owner(conn: Connection) -> str | None:
    """The role owning tasktrack's schema (None on a database never migrated)."""
    mark = _mark(conn)
    return None if mark is None else mark[0]


def require_owner(conn: Connection, action: str) -> None:
    """Raise NotOwner unless the connected role can act as the schema's owner.

    On a database never migrated, that means being allowed to create tables in its schema.
    """
    user = str(_scalar(conn, "SELECT current_user"))
    owner = schema_owner(conn)
    if owner is None:
        may_create = "SELECT coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)"
        if _scalar(conn, may_create):
            return
        raise NotOwner(
            f"{action} needs a role that may create tables in the database's schema; "
            f"{user} may not: connect as the database's owner"
        )
    if _scalar(conn, "SELECT pg_has_role(current_user, %s, 'USAGE')", owner):
        return
    raise NotOwner(
        f"{action} must run as the owner of tasktrack's schema ({owner}), not as {user}, "
        "which may only use it: connect as the owner (docs/reliability.md, Least privilege)"
    )


def _schema(conn: Connection) -> tuple[str, set[str]]:
    """The schema's name and the relations in it."""
    mark = _mark(conn)
    if mark is None:
        raise NotOwner("the database has no tasktrack schema yet: run `tasktrack db upgrade`")
    rows = raw(conn).execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s "
        "AND relkind IN ('r', 'p', 'v', 'm', 'f')",
        (mark[2],),
    )
    return mark[1], {str(r[0]) for r in rows}


def app_roles(conn: Connection) -> list[str]:
    """The application roles of this database: those granted INSERT on the log."""
    rows = raw(conn).execute(
        "SELECT DISTINCT r.rolname FROM pg_class c, aclexplode(c.relacl) a "
        "JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass('events') AND a.privilege_type = 'INSERT' "
        "AND a.grantee <> c.relowner ORDER BY 1"
    )
    return [str(r[0]) for r in rows]


def _check_grantee(conn: Connection, role: str) -> None:
    superuser = _scalar(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", role)
    if superuser is None:
        raise BadGrantee(
            f"role {role!r} does not exist: create it first (CREATE ROLE ... LOGIN PASSWORD ...)"
        )
    if superuser:
        raise BadGrantee(f"role {role!r} is a superuser: no grant can limit what it does")
    owner = schema_owner(conn)
    if owner is not None and _scalar(conn, "SELECT pg_has_role(%s, %s, 'USAGE')", role, owner):
        raise BadGrantee(
            f"role {role!r} is (or acts as) the schema's owner {owner}: "
            "the application role must be another role"
        )


def apply(conn: Connection, role: str) -> list[Granted]:
    """Give `role` exactly APP_PRIVILEGES on the relations that exist (revoking anything else
    it held on them), and USAGE on the schema and CONNECT on the database."""
    schema, present = _schema(conn)
    pg = raw(conn)
    who = sql.Identifier(role)
    granted = []
    for relation, privileges in APP_PRIVILEGES.items():
        if relation not in present:
            continue
        target = sql.Identifier(schema, relation)
        pg.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, who))
        pg.execute(
            sql.SQL("GRANT {} ON {} TO {}").format(
                sql.SQL(", ").join(sql.SQL(p) for p in privileges), target, who
            )
        )
        granted.append(Granted(relation=relation, privileges=privileges))
    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), who))
    database = str(_scalar(conn, "SELECT current_database()"))
    pg.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who))
    return granted


def may_create(conn: Connection, role: str) -> bool:
    """Whether `role` may create objects in the schema (PUBLIC may, before PostgreSQL 15)."""
    schema, _ = _schema(conn)
    return bool(_scalar(conn, "SELECT has_schema_privilege(%s, %s, 'CREATE')", role, schema))


def revoke(conn: Connection, role: str) -> None:
    """Take every privilege on tasktrack's relations away from `role`."""
    schema, present = _schema(conn)
    pg = raw(conn)
    for relation in sorted(present & set(APP_PRIVILEGES)):
        pg.execute(
            sql.SQL("REVOKE ALL ON {} FROM {}").format(
                sql.Identifier(schema, relation), sql.Identifier(role)
            )
        )


def grant(engine: Engine, role: str) -> list[Granted]:
    """`tasktrack db grant ROLE`: make ROLE an application role (run as the schema's owner)."""
    with engine.begin() as conn:
        require_owner(conn, f"`{GRANT_COMMAND}`")
        _check_grantee(conn, role)
        return apply(conn, role)


def reapply(conn: Connection) -> list[str]:
    """Re-grant APP_PRIVILEGES to every application role (after a migration); their names."""
    roles = app_roles(conn)
    for role in roles:
        apply(conn, role)
    return roles
