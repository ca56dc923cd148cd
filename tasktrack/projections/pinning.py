"""Batch statements held to one tenant, so that a sharded layout runs them on one node.

A projector's batch statement takes arrays of rows of any tenants (a replay mixes them). On a
single PostgreSQL that is all it needs. On Citus (docs/architecture.md, "Citus") a statement
whose tables are not each pinned to one `company` value is planned across shards, where
correlated subqueries and lateral joins are refused; pinned, every table it reads is held to the
tenant's shards, and Citus accepts it. A command's batch is always one tenant's, so it takes the
pinned statement; on a single node both forms have the same plan and result.

A pinned statement is sent through `run`: its parameters rendered in, as the argument of
`tasktrack_run_pinned` (migration 0025), which Citus delegates whole to the tenant's worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg


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
    conn: psycopg.Connection[Any], plain: str, pinned: str, params: Mapping[str, Any]
) -> None:
    """Run `pinned` when every row of the batch (`params["company"]`) is one tenant's, else
    `plain` (a replay's batch of many tenants; on a sharded layout, replays run per tenant)."""
    tenants = set(params["company"])
    if len(tenants) == 1:
        tenant = tenants.pop()
        run(conn, tenant, pinned, {**params, "tenant": tenant})
    else:
        conn.execute(plain, params)


def run(
    conn: psycopg.Connection[Any], company: str, statement: str, params: Mapping[str, Any]
) -> None:
    """Run `statement` (every table in it held to `company`) through `tasktrack_run_pinned`.

    Why a function: Citus cannot run a statement whose rows come from parameters (`unnest`) on
    a shard; it pulls them to the coordinator and copies them back over a second connection,
    which commits the command in two phases. A call of the function distributed by its
    company (`db distribute`) is delegated to the tenant's worker and the statement runs there
    whole, on the transaction's one connection. The parameters are rendered client side
    (psycopg's quoting), since the function takes one text; on a single node the same call.
    """
    text = psycopg.ClientCursor(conn).mogrify(statement, params)
    conn.execute("SELECT tasktrack_run_pinned(%s, %s)", (company, text))


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
