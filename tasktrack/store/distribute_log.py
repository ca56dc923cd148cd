"""The log's side of `tasktrack db distribute` on a database that already holds events.

store/distribute.py places the tables (Citus copies their rows to the shards). A log that
already has events needs three things more, each checked or done here (docs/architecture.md,
"Citus: distributing a database that holds a log"): nobody else writes meanwhile; every
worker's transaction counter is past the `tx` of the events it received, so a tenant's
commit-safe reader (ordered by `tx`, bounded by its worker's horizon) neither stalls on them
nor sorts new events below them; and the whole log's catch-up checkpoints (company '') become
one checkpoint per tenant that covers exactly what the '' one covered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tasktrack.store.engine import raw

# The checkpoints' company for a place in the whole log's order (projections/checkpoints.py).
ALL_TENANTS = ""


class NotSafeToDistribute(RuntimeError):
    """Distributing now could lose or repeat events for a reader: the reason says what to do."""


# Other client sessions on this database. Citus's own connections (workers and the
# coordinator talking to it, application_name 'citus_internal …', 'citus_rebalancer …') are
# not writers of tasktrack's.
_SESSIONS = (
    "SELECT pid, usename, coalesce(application_name, ''), coalesce(client_addr::text, 'local'), "
    "coalesce(state, '') FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
    "AND coalesce(application_name, '') NOT LIKE 'citus%'"
)


def other_sessions(conn: Connection) -> list[str]:
    """The other client sessions connected to this database, one line each."""
    rows = raw(conn).execute(_SESSIONS).fetchall()
    return [f"pid {r[0]} ({r[1]}, {r[2] or 'no application name'}, {r[3]}, {r[4]})" for r in rows]


def require_alone(conn: Connection) -> None:
    """Refuse while another client is connected: a writer (`serve`, a script) or a runner
    (`projections run`) working during the copy could append events the checkpoints do not
    account for, or read a half-distributed log."""
    sessions = other_sessions(conn)
    if sessions:
        raise NotSafeToDistribute(
            "other sessions are connected to this database: "
            + "; ".join(sessions)
            + ". Stop every writer and reader (tasktrack serve, projections run, scripts, psql) "
            "before `tasktrack db distribute`, and start them again once it has finished"
        )


def unread_beyond(conn: Connection, tx: int, position: int) -> int:
    """How many events of the whole log lie beyond a checkpoint (committed or not yet below
    the horizon): 0 once a catch-up projector has read everything there is."""
    row = (
        raw(conn)
        .execute(
            "SELECT count(*) FROM events WHERE (tx, position) > (%s::text::xid8, %s)",
            (str(tx), position),
        )
        .fetchone()
    )
    return int(row[0]) if row else 0


def whole_log_checkpoints(conn: Connection) -> list[tuple[str, int, int]]:
    """The catch-up checkpoints in the whole log's order (company ''): name, tx, position."""
    rows = raw(conn).execute(
        "SELECT name, tx::text, position FROM projector_checkpoints WHERE company = %s "
        "ORDER BY name",
        (ALL_TENANTS,),
    )
    return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]


def advance_workers(conn: Connection) -> int:
    """Bring every worker's transaction counter past the largest `tx` in the log; return it
    (0 for an empty log).

    Citus copies a table's rows into its shards with COPY, which fires the log's
    `events_stamp_tx` trigger there: the copied events are stamped with the copying
    transaction of their worker, so they are already below its counter (seen on Citus 13.2).
    This makes it hold whatever the copy did (another Citus version, rows copied with their
    coordinator `tx`, a rerun after a crash): on each worker, transaction ids are taken and
    committed one by one (a DO block; COMMIT ends each) until the counter is past the largest
    `tx` of the whole log, which is past the largest of its own rows too. A worker already
    past it takes one id. Writers are stopped (require_alone), so no margin is needed.
    """
    pg = raw(conn)
    row = pg.execute("SELECT coalesce(max(tx), '0'::xid8)::text FROM events").fetchone()
    top = int(row[0]) if row else 0
    if top == 0:
        return 0
    burn = (
        "DO $burn$ BEGIN WHILE pg_current_xact_id() <= '"
        + str(top)
        + "'::xid8 LOOP COMMIT; END LOOP; END $burn$"
    )
    failed = [
        f"{r[0]}:{r[1]}: {r[3]}"
        for r in pg.execute(
            "SELECT nodename, nodeport, success, result FROM run_command_on_workers(%s)", (burn,)
        )
        if not r[2]
    ]
    if failed:
        raise NotSafeToDistribute(
            "could not advance the workers' transaction counters past the log's "
            f"tx {top}: {'; '.join(failed)}; run `tasktrack db distribute` again"
        )
    return top


# A step of a stream that is not +1 in its tenant's commit-safe order: a copy that broke the
# order every reader relies on (partitioned by the distribution column: each worker answers
# for its shards).
_OUT_OF_ORDER = (
    "SELECT count(*) FROM (SELECT stream_version - lag(stream_version) OVER ("
    "PARTITION BY company, stream_id ORDER BY tx, position) AS step FROM events) AS s "
    "WHERE step <> 1"
)


def check_stream_order(conn: Connection) -> None:
    """Each stream's events, read in their tenant's commit-safe order (tx, position), must
    come in version order, one after the other, as a tenant's reader expects."""
    row = raw(conn).execute(_OUT_OF_ORDER).fetchone()
    broken = int(row[0]) if row else 0
    if broken:
        raise NotSafeToDistribute(
            f"{broken} events of the distributed log come out of version order in their "
            "tenant's (tx, position) order: do not start writers or readers; the log on the "
            "coordinator is unchanged (docs/architecture.md, Citus)"
        )


def per_tenant_checkpoints(conn: Connection) -> list[str]:
    """Replace each whole-log checkpoint (company '') by one checkpoint per tenant at that
    tenant's last event; return the projectors converted. One transaction, so a crash leaves
    the '' rows and a rerun converts them.

    Sound only when the '' checkpoint covered every event of the log (the caller caught the
    runners up and checked it, with writers stopped): then it covers each tenant's log whole,
    which the tenant's last event in its own order says. The '' row's own (tx, position) can
    no longer be compared with the shards' `tx` (restamped by the copy), so it is not used.
    """
    pg = raw(conn)
    names = [name for name, _, _ in whole_log_checkpoints(conn)]
    if not names:
        return []
    # Each tenant's last event in its order; DISTINCT ON the distribution column runs on
    # each worker for its own shards.
    lasts: list[Any] = pg.execute(
        "SELECT DISTINCT ON (company) company, tx::text, position FROM events "
        "ORDER BY company, tx DESC, position DESC"
    ).fetchall()
    for name in names:
        for company, tx, position in lasts:
            pg.execute(
                "INSERT INTO projector_checkpoints (company, name, tx, position, updated_at) "
                "VALUES (%s, %s, %s::text::xid8, %s, now()) ON CONFLICT (company, name) "
                "DO UPDATE SET tx = EXCLUDED.tx, position = EXCLUDED.position, "
                "updated_at = EXCLUDED.updated_at",
                (company, name, tx, position),
            )
    pg.execute("DELETE FROM projector_checkpoints WHERE company = %s", (ALL_TENANTS,))
    return names


def worker_counters(conn: Connection) -> dict[str, int]:
    """Each worker's next transaction id (it assigns one): 'host:port' -> id."""
    rows: list[Any] = (
        raw(conn)
        .execute(
            "SELECT nodename, nodeport, success, result FROM "
            "run_command_on_workers('SELECT pg_current_xact_id()')"
        )
        .fetchall()
    )
    return {f"{r[0]}:{r[1]}": int(r[3]) for r in rows if r[2]}
