"""The metric points projector's statements: the batch write, its Citus worker form, deletes.

Python has already grouped the batch by series, kept the later report of a repeated iteration
and sorted each series by iteration (projections/metric_points.py), so SQL gets each series
once, `since` its first iteration, and its points in order.
"""

from __future__ import annotations

from tasktrack.projections.series_ids import series_id_sql

_NONFINITE = "('NaN', 'Infinity', '-Infinity')"

# The statements' parts: the batch's series (`s`, one row each, `sn` its ordinal), its points
# (`p`, by `sn`), and a series' points to write with their contributions to the totals
# (`merged`: the batch's, and the stored ones after `since` that it does not replace).
_SERIES_ROWS = """s AS (
    SELECT * FROM unnest(
        %(company)s::text[], %(task)s::text[], %(offset)s::int4[], %(metric)s::text[],
        %(variant)s::text[], %(since)s::int8[], %(until)s::int8[], %(count)s::int8[]
    ) WITH ORDINALITY AS s(company, task_id, run_offset, metric, variant, since, until, k, sn)
)"""
_POINT_ROWS = """p AS (
    SELECT * FROM unnest(
        string_to_array(%(sn)s, ',')::int8[], string_to_array(%(iter)s, ',')::int8[],
        string_to_array(%(value)s, ','), string_to_array(%(ts)s, ',')::int8[]
    ) AS p(sn, iter, value, timestamp)
)"""
_MERGED = f"""merged AS (
    SELECT sn, iter, value::float8 AS value, timestamp,
        CASE WHEN value IN {_NONFINITE} THEN 0 ELSE value::numeric END AS d_sum,
        (value NOT IN {_NONFINITE})::int AS d_n
    FROM p
    UNION ALL
    SELECT sn, iter, value, timestamp, d_sum, d_n FROM stored WHERE NOT replaced
)"""

# Where write_sql's statement reads a table of the batch's tenants (projections/pinning.py).
TENANT_JOINS = (
    "x.company = t.company",
    "h.company = s.company",
    "x.company = h.company",
    "x.company = b.company",
)


def write_sql(points: str, series: str, runs: str) -> str:
    """Every point of a batch into `points`, and its series' heads into `series`.

    A point's exact contribution to the totals is its value as numeric, parsed from the
    shortest decimal that round-trips the double (Python's repr, or the log's JSON text in
    migration 0012): never float8::numeric, which keeps 15 digits. numeric sums are exact, so
    associative: a batch continues the stored totals (`base`, the stored point before its
    first iteration) with its own window sums, and a rebuild that sums a series in one pass
    gets the same rows.

    The normal case, a series appended to in increasing iteration (`since` after its stored
    last iteration), reads one series row and one point (the tail) and only inserts. A batch
    that starts at or before the stored last iteration (a repeat, or an earlier point) also
    reads that series' stored suffix (`stored`), whose contributions are the differences of
    their stored totals (no value is re-parsed), and rewrites it: rare, and its cost grows
    with the suffix.
    """
    sid = series_id_sql("s.company", "s.task_id", "s.run", "s.metric", "s.variant")
    return f"""
WITH {_SERIES_ROWS}, cur AS MATERIALIZED (
    SELECT t.company, t.task_id, coalesce((
        SELECT x.run FROM {runs} x WHERE x.company = t.company AND x.task_id = t.task_id
    ), 0) AS run
    FROM (SELECT DISTINCT company, task_id FROM s) AS t
), head AS MATERIALIZED (
    SELECT s.sn, s.company, s.task_id, s.run, s.metric, s.variant, s.since, s.until, s.k,
        {sid} AS series_id, h.points, h.last_iter
    FROM (
        SELECT s.*, cur.run + s.run_offset AS run FROM s JOIN cur USING (company, task_id)
    ) AS s
    LEFT JOIN {series} h ON h.company = s.company AND h.task_id = s.task_id AND h.run = s.run
        AND h.metric = s.metric AND h.variant = s.variant
), base AS MATERIALIZED (
    SELECT h.sn, h.company, h.series_id, h.since, h.last_iter,
        coalesce(b.finite_n, 0) AS finite_n, coalesce(b.finite_sum, 0) AS finite_sum
    FROM head h LEFT JOIN LATERAL (
        SELECT x.finite_n, x.finite_sum FROM {points} x
        WHERE h.last_iter IS NOT NULL AND x.company = h.company AND x.series_id = h.series_id
            AND x.iter < h.since
        ORDER BY x.iter DESC LIMIT 1
    ) AS b ON true
), {_POINT_ROWS}, stored AS MATERIALIZED (
    SELECT b.sn, x.iter, x.value, x.timestamp,
        x.finite_sum - lag(x.finite_sum, 1, b.finite_sum) OVER w AS d_sum,
        x.finite_n - lag(x.finite_n, 1, b.finite_n) OVER w AS d_n,
        q.sn IS NOT NULL AS replaced
    FROM base b JOIN {points} x ON x.company = b.company AND x.series_id = b.series_id
        AND x.iter >= b.since
    LEFT JOIN p AS q ON q.sn = b.sn AND q.iter = x.iter
    WHERE b.since <= b.last_iter
    WINDOW w AS (PARTITION BY b.sn ORDER BY x.iter)
), {_MERGED}, folded AS (
    SELECT b.company, b.series_id, m.iter, m.value, m.timestamp,
        b.finite_n + sum(m.d_n) OVER w AS finite_n,
        b.finite_sum + sum(m.d_sum) OVER w AS finite_sum,
        b.since <= b.last_iter AS rewrite
    FROM merged m JOIN base b USING (sn)
    WINDOW w AS (PARTITION BY m.sn ORDER BY m.iter)
), appended AS (
    -- The normal case: every point is new, a plain insert (no conflict to look for).
    INSERT INTO {points} (company, series_id, iter, value, timestamp, finite_n, finite_sum)
    SELECT company, series_id, iter, value, timestamp, finite_n, finite_sum
    FROM folded WHERE NOT coalesce(rewrite, false)
), rewritten AS (
    INSERT INTO {points} AS t (company, series_id, iter, value, timestamp, finite_n,
        finite_sum)
    SELECT company, series_id, iter, value, timestamp, finite_n, finite_sum
    FROM folded WHERE rewrite
    ON CONFLICT (company, series_id, iter) DO UPDATE SET
        value = EXCLUDED.value, timestamp = EXCLUDED.timestamp,
        finite_n = EXCLUDED.finite_n, finite_sum = EXCLUDED.finite_sum
)
INSERT INTO {series} AS s (company, task_id, run, metric, variant, series_id, points,
    first_iter, last_iter)
SELECT h.company, h.task_id, h.run, h.metric, h.variant, h.series_id,
    coalesce(h.points, 0) + h.k - coalesce((
        SELECT count(*) FROM stored x WHERE x.sn = h.sn AND x.replaced
    ), 0),
    h.since, h.until
FROM head h
ON CONFLICT (company, task_id, run, metric, variant) DO UPDATE SET
    points = EXCLUDED.points,
    first_iter = least(s.first_iter, EXCLUDED.first_iter),
    last_iter = greatest(s.last_iter, EXCLUDED.last_iter)
"""


def runs_sql(runs: str) -> str:
    """Move tasks on to their next runs (one more per reset)."""
    return (
        f"INSERT INTO {runs} AS r (company, task_id, run) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::int4[]) "
        "ON CONFLICT (company, task_id) DO UPDATE SET run = r.run + EXCLUDED.run"
    )


def worker_sql(points: str, series: str, runs: str) -> str:
    """write_sql for one tenant's batch (`%(tenant)s` on every table read), as the two
    statements the tenant's worker runs inside `tasktrack_run_pinned` on a Citus layout.

    Why two: Citus plans a query with a data-modifying CTE piece by piece, each CTE a subplan
    whose result an `INSERT … SELECT` needs on every node (copied there over new connections,
    then a two-phase commit over all three), while a single `INSERT … SELECT` whose CTEs only
    read and whose tables are all held to the tenant runs whole on the tenant's shards, its
    rows inserted there too (docs/architecture.md, "Citus"). So each write is its own
    statement, and the order matters: the series first, since counting the points a batch
    replaces reads the stored points before they are written; the points then read no series
    row (every series is treated as one that may be rewritten: its stored suffix from `since`
    is read, none for an append, and written with ON CONFLICT). Same rows as write_sql
    (tests/integration/test_metric_points_worker.py).
    """
    sid = series_id_sql("s.company", "s.task_id", "s.run", "s.metric", "s.variant")
    keyed = f"""cur AS MATERIALIZED (
    SELECT t.company, t.task_id, coalesce((
        SELECT x.run FROM {runs} x
        WHERE x.company = %(tenant)s AND x.company = t.company AND x.task_id = t.task_id
    ), 0) AS run
    FROM (SELECT DISTINCT company, task_id FROM s) AS t
), keyed AS MATERIALIZED (
    SELECT s.*, {sid} AS series_id
    FROM (
        SELECT s.*, cur.run + s.run_offset AS run FROM s JOIN cur USING (company, task_id)
    ) AS s
)"""
    return f"""
WITH {_SERIES_ROWS}, {keyed}, {_POINT_ROWS}
INSERT INTO {series} AS s (company, task_id, run, metric, variant, series_id, points,
    first_iter, last_iter)
SELECT h.company, h.task_id, h.run, h.metric, h.variant, h.series_id,
    coalesce(h.points, 0) + h.k - (
        SELECT count(*) FROM p JOIN {points} x ON x.company = %(tenant)s
            AND x.company = h.company AND x.series_id = h.series_id AND x.iter = p.iter
        WHERE p.sn = h.sn AND h.since <= h.last_iter
    ),
    h.since, h.until
FROM (
    SELECT k.*, o.points, o.last_iter FROM keyed k
    LEFT JOIN {series} o ON o.company = %(tenant)s AND o.company = k.company
        AND o.task_id = k.task_id AND o.run = k.run AND o.metric = k.metric
        AND o.variant = k.variant
) AS h
ON CONFLICT (company, task_id, run, metric, variant) DO UPDATE SET
    points = EXCLUDED.points,
    first_iter = least(s.first_iter, EXCLUDED.first_iter),
    last_iter = greatest(s.last_iter, EXCLUDED.last_iter);
WITH {_SERIES_ROWS}, {keyed}, base AS MATERIALIZED (
    SELECT h.sn, h.company, h.series_id, h.since,
        coalesce(b.finite_n, 0) AS finite_n, coalesce(b.finite_sum, 0) AS finite_sum
    FROM keyed h LEFT JOIN LATERAL (
        SELECT x.finite_n, x.finite_sum FROM {points} x
        WHERE x.company = %(tenant)s AND x.company = h.company AND x.series_id = h.series_id
            AND x.iter < h.since
        ORDER BY x.iter DESC LIMIT 1
    ) AS b ON true
), {_POINT_ROWS}, stored AS MATERIALIZED (
    SELECT b.sn, x.iter, x.value, x.timestamp,
        x.finite_sum - lag(x.finite_sum, 1, b.finite_sum) OVER w AS d_sum,
        x.finite_n - lag(x.finite_n, 1, b.finite_n) OVER w AS d_n,
        q.sn IS NOT NULL AS replaced
    FROM base b JOIN {points} x ON x.company = %(tenant)s AND x.company = b.company
        AND x.series_id = b.series_id AND x.iter >= b.since
    LEFT JOIN p AS q ON q.sn = b.sn AND q.iter = x.iter
    WINDOW w AS (PARTITION BY b.sn ORDER BY x.iter)
), {_MERGED}
INSERT INTO {points} AS t (company, series_id, iter, value, timestamp, finite_n, finite_sum)
SELECT b.company, b.series_id, m.iter, m.value, m.timestamp,
    b.finite_n + sum(m.d_n) OVER w, b.finite_sum + sum(m.d_sum) OVER w
FROM merged m JOIN base b USING (sn)
WINDOW w AS (PARTITION BY m.sn ORDER BY m.iter)
ON CONFLICT (company, series_id, iter) DO UPDATE SET
    value = EXCLUDED.value, timestamp = EXCLUDED.timestamp,
    finite_n = EXCLUDED.finite_n, finite_sum = EXCLUDED.finite_sum
"""


def run_sql(runs: str) -> str:
    """runs_sql for one task: its row as VALUES, which Citus routes to the tenant's shard (from
    unnest it pulls the rows to the coordinator and copies them back on a second connection:
    a two-phase commit)."""
    return (
        f"INSERT INTO {runs} AS r (company, task_id, run) VALUES (%s, %s, %s) "
        "ON CONFLICT (company, task_id) DO UPDATE SET run = r.run + EXCLUDED.run"
    )


def delete_sql(points: str, series: str, runs: str) -> list[str]:
    """Remove deleted tasks' rows: their points (by their series' ids) first, then the rest."""
    tasks = "(company, task_id) IN (SELECT * FROM unnest(%(company)s::text[], %(task)s::text[]))"
    return [
        f"DELETE FROM {points} WHERE (company, series_id) IN "
        f"(SELECT company, series_id FROM {series} WHERE {tasks})",
        f"DELETE FROM {series} WHERE {tasks}",
        f"DELETE FROM {runs} WHERE {tasks}",
    ]


def delete_pinned_sql(points: str, series: str, runs: str) -> list[str]:
    """delete_sql for one tenant's tasks (`%(tenant)s`): every table held to it, so that on
    Citus each statement runs on the tenant's shard alone (the pairs' form went to every
    shard, and a command touching several nodes commits in two phases)."""
    tasks = "company = %(tenant)s AND task_id = ANY(%(task)s::text[])"
    return [
        f"DELETE FROM {points} WHERE company = %(tenant)s AND series_id IN "
        f"(SELECT series_id FROM {series} WHERE {tasks})",
        f"DELETE FROM {series} WHERE {tasks}",
        f"DELETE FROM {runs} WHERE {tasks}",
    ]
