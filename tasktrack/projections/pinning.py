"""Batch statements held to one tenant, so that a sharded layout runs them on one node.

A projector's batch statement takes arrays of rows of any tenants (a replay mixes them). On a
single PostgreSQL that is all it needs. On Citus (docs/architecture.md, "Citus") a statement
whose tables are not each pinned to one `company` value is planned across shards, where
correlated subqueries and lateral joins are refused; pinned, every table it reads is held to the
tenant's shards, and Citus accepts it. A command's batch is always one tenant's, so it takes the
pinned statement; on a single node both forms have the same plan and result.

A pinned statement is sent through `run`. On a distributed layout it goes, its parameters
rendered in, as the argument of `tasktrack_run_pinned` (migration 0025), which Citus delegates
whole to the tenant's worker; on a single node it runs as it is (through the function it would
be planned anew at each call, where psycopg prepares it: W3 lost about a third).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import psycopg

RUN_PINNED = "tasktrack_run_pinned(text,text)"

# Per connection: whether its database distributes RUN_PINNED (`tasktrack db distribute`).
# Asked once per connection (a pooled one lives long); a connection opened before the
# database was distributed keeps running the statements as they are: correct, in two phases.
_delegating: WeakKeyDictionary[psycopg.Connection[Any], bool] = WeakKeyDictionary()


def pin(statement: str, joins: Sequence[str]) -> str:
    """`statement` with each of `joins` ("x.company = t.company": a table's tenant matched to
    the batch's) also held to the `%(tenant)s` parameter."""
    for join in joins:
        alias = join.split(".", 1)[0]
        if statement.count(join) != 1:
            raise ValueError(f"{join!r} must occur once in the statement to pin")
        statement = statement.replace(join, f"{alias}.company = %(tenant)s AND {join}")
    return statement


def execute(
    conn: psycopg.Connection[Any],
    plain: str,
    pinned: str,
    params: Mapping[str, Any],
    *,
    live: bool,
    delegated: str | None = None,
) -> None:
    """Run `pinned` when every row of the batch (`params["company"]`) is one tenant's, else
    `plain` (a replay's batch of many tenants; on a sharded layout, replays run per tenant).
    `live`, `delegated`: see `run`."""
    tenants = set(params["company"])
    if len(tenants) == 1:
        tenant = tenants.pop()
        run(conn, tenant, pinned, {**params, "tenant": tenant}, live=live, delegated=delegated)
    else:
        conn.execute(plain, params)


def run(
    conn: psycopg.Connection[Any],
    company: str,
    statement: str,
    params: Mapping[str, Any],
    *,
    live: bool,
    delegated: str | None = None,
) -> None:
    """Run `statement` (every table in it held to `company`), on a distributed layout through
    `tasktrack_run_pinned` when it writes the `live` tables (a rebuild's or verify's twins
    are the coordinator's own tables, which no worker holds). `delegated`, when given, is what
    the worker runs instead: the same writes in a form Citus runs there on the tenant's shards
    alone (several statements, `;`-separated: EXECUTE runs them in order, in the call's
    transaction).

    Why a function: Citus cannot run a statement whose rows come from parameters (`unnest`) on
    a shard; it pulls them to the coordinator and copies them back over a second connection,
    which commits the command in two phases. A call of the function distributed by its
    company (`db distribute`, delegation forced) is sent to the tenant's worker and the
    statement runs there whole, on the transaction's one connection. The parameters are
    rendered client side (psycopg's quoting), since the function takes one text.
    """
    if not (live and delegating(conn)):
        conn.execute(statement, params)
        return
    text = psycopg.ClientCursor(conn).mogrify(delegated or statement, params)
    conn.execute("SELECT tasktrack_run_pinned(%s, %s)", (company, text))


def delegating(conn: psycopg.Connection[Any]) -> bool:
    """Whether the database distributes RUN_PINNED (asked once per connection)."""
    known = _delegating.get(conn)
    if known is None:
        found = conn.execute("SELECT to_regclass('pg_catalog.pg_dist_object')").fetchone()
        known = found is not None and found[0] is not None
        if known:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object "
                "WHERE objid = to_regprocedure(%s) AND distribution_argument_index IS NOT NULL)",
                (RUN_PINNED,),
            ).fetchone()
            known = bool(row and row[0])
        _delegating[conn] = known
    return known


def keys_where(column: str, keys: Sequence[tuple[str, str]]) -> tuple[str, tuple[Any, ...]]:
    """A predicate and its two parameters for rows whose (company, `column`) is one of `keys`:
    `company = … AND column = ANY(…)` when they are one tenant's (routed to its shard on
    Citus), else the pairs unnested (a replay's many tenants)."""
    tenants = {company for company, _ in keys}
    ids = [key for _, key in keys]
    if len(tenants) == 1:
        return f"company = %s AND {column} = ANY(%s::text[])", (tenants.pop(), ids)
    pairs = f"(company, {column}) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
    return pairs, ([company for company, _ in keys], ids)
