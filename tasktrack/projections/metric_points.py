"""`task_metric_points`, `task_metric_series`, `task_runs`: every scalar point, per run, with
running totals in iteration order, so a histogram bucket's mean is two index probes.

One statement per batch writes every point of it (all tasks and series, arrays unnested in
SQL): the later report of a (run, metric, variant, iteration) wins, and each series touched is
recomputed from its first touched iteration on, continuing the totals of the stored point
before it. Appends in increasing iteration (the normal case) read one stored row per series
(the tail) and insert; an earlier or repeated iteration rewrites that series' suffix. Inline
the statement is pipelined with the command's others (no round trip); a replay writes a whole
batch of reports with it. A reset moves the task to its next run (older runs' points stay,
readable with all_runs); a deleted task's rows are removed.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.envelope import Recorded
from tasktrack.domain.metrics import encode_value
from tasktrack.domain.state import TaskState
from tasktrack.projections.tenants import companies

# The key of a series in SQL (a USING list).
_SERIES = "company, task_id, run, metric, variant"


def _same_series(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in _SERIES.split(", "))


def _points_sql(points: str, series: str, runs: str) -> str:
    """The batch's points into `points` and their series' heads into `series`.

    A point's exact contribution to the totals is its value as numeric, parsed from the
    shortest decimal that round-trips the double (Python's repr, or the log's JSON text in
    migration 0013): never float8::numeric, which keeps 15 digits. A stored point that is
    rewritten keeps its contribution, recovered as the difference of its stored totals.
    """
    return f"""
WITH p AS (
    SELECT * FROM unnest(
        %(company)s::text[], %(task)s::text[], %(offset)s::int4[], %(metric)s::text[],
        %(variant)s::text[], %(iter)s::int8[], %(value)s::text[], %(ts)s::int8[]
    ) WITH ORDINALITY AS p(company, task_id, run_offset, metric, variant, iter, value,
        timestamp, ord)
), cur AS (
    SELECT t.company, t.task_id, coalesce((
        SELECT r.run FROM {runs} r WHERE r.company = t.company AND r.task_id = t.task_id
    ), 0) AS run
    FROM (SELECT DISTINCT company, task_id FROM p) AS t
), latest AS (
    SELECT DISTINCT ON (p.company, p.task_id, cur.run + p.run_offset, p.metric, p.variant,
        p.iter)
        p.company, p.task_id, cur.run + p.run_offset AS run, p.metric, p.variant, p.iter,
        p.value::float8 AS value, p.timestamp,
        CASE WHEN p.value IN ('NaN', 'Infinity', '-Infinity') THEN NULL
            ELSE p.value::numeric END AS exact
    FROM p JOIN cur USING (company, task_id)
    ORDER BY p.company, p.task_id, cur.run + p.run_offset, p.metric, p.variant, p.iter,
        p.ord DESC
), base AS (
    SELECT t.*, coalesce(b.n, 0) AS n, coalesce(b.finite_n, 0) AS finite_n,
        coalesce(b.finite_sum, 0) AS finite_sum
    FROM (SELECT {_SERIES}, min(iter) AS since FROM latest GROUP BY {_SERIES}) AS t
    LEFT JOIN LATERAL (
        SELECT x.n, x.finite_n, x.finite_sum FROM {points} x
        WHERE {_same_series("x", "t")} AND x.iter < t.since
        ORDER BY x.iter DESC LIMIT 1
    ) AS b ON true
), stored AS (
    SELECT x.company, x.task_id, x.run, x.metric, x.variant, x.iter, x.value, x.timestamp,
        x.finite_sum - lag(x.finite_sum, 1, b.finite_sum) OVER w AS d_sum,
        (x.finite_n - lag(x.finite_n, 1, b.finite_n) OVER w)::int AS d_n
    FROM base b JOIN {points} x ON {_same_series("x", "b")} AND x.iter >= b.since
    WINDOW w AS (PARTITION BY x.company, x.task_id, x.run, x.metric, x.variant ORDER BY x.iter)
), merged AS (
    SELECT {_SERIES}, iter, value, timestamp, coalesce(exact, 0) AS d_sum,
        (exact IS NOT NULL)::int AS d_n
    FROM latest
    UNION ALL
    SELECT {_SERIES}, iter, value, timestamp, d_sum, d_n FROM stored s
    WHERE NOT EXISTS (
        SELECT 1 FROM latest l WHERE {_same_series("l", "s")} AND l.iter = s.iter)
), folded AS (
    SELECT m.company, m.task_id, m.run, m.metric, m.variant, m.iter, m.value, m.timestamp,
        b.n + row_number() OVER w AS n,
        b.finite_n + sum(m.d_n) OVER w AS finite_n,
        b.finite_sum + sum(m.d_sum) OVER w AS finite_sum
    FROM merged m JOIN base b USING ({_SERIES})
    WINDOW w AS (PARTITION BY m.company, m.task_id, m.run, m.metric, m.variant ORDER BY m.iter)
), written AS (
    INSERT INTO {points} AS t ({_SERIES}, iter, value, timestamp, n, finite_n, finite_sum)
    SELECT * FROM folded
    ON CONFLICT ({_SERIES}, iter) DO UPDATE SET
        value = EXCLUDED.value, timestamp = EXCLUDED.timestamp, n = EXCLUDED.n,
        finite_n = EXCLUDED.finite_n, finite_sum = EXCLUDED.finite_sum
    RETURNING {_SERIES}, iter, n
)
INSERT INTO {series} AS s ({_SERIES}, points, first_iter, last_iter)
SELECT {_SERIES}, max(n), min(iter), max(iter) FROM written GROUP BY {_SERIES}
ON CONFLICT ({_SERIES}) DO UPDATE SET
    points = EXCLUDED.points,
    first_iter = least(s.first_iter, EXCLUDED.first_iter),
    last_iter = greatest(s.last_iter, EXCLUDED.last_iter)
"""


def exact_text(value: float | str) -> str:
    """A point's value as the text SQL parses: the shortest round-tripping decimal (repr),
    or the name of a non-finite value."""
    if isinstance(value, str):
        return value
    return repr(value) if math.isfinite(value) else str(encode_value(value))


class MetricPointsProjector:
    name = "task_metric_points"

    def __init__(
        self,
        points: str = "task_metric_points",
        series: str = "task_metric_series",
        runs: str = "task_runs",
    ) -> None:
        self.tables = (points, series, runs)
        self._points = _points_sql(points, series, runs)
        self._runs = (
            f"INSERT INTO {runs} AS r (company, task_id, run) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::int4[]) "
            "ON CONFLICT (company, task_id) DO UPDATE SET run = r.run + EXCLUDED.run"
        )

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # Order within the batch: a task's points before a reset belong to its run then, the
        # ones after to the next (`offset` counts the task's resets so far in the batch, and
        # SQL adds the stored run); the stored runs move on only after the points statement.
        # A stream ends with its deletion: a task deleted in the batch gets nothing written.
        gone = {r.stream_id for r in batch if isinstance(r.event, ev.TaskDeleted)}
        mine = [
            r
            for r in batch
            if isinstance(r.event, ev.MetricsReported | ev.TaskReset) and r.stream_id not in gone
        ]
        tenants = companies(conn, {r.stream_id for r in mine} | gone, states)
        offsets: dict[str, int] = {}
        columns: dict[str, list[Any]] = {
            k: [] for k in ("company", "task", "offset", "metric", "variant", "iter", "value")
        }
        columns["ts"] = []
        for record in mine:
            task, event = record.stream_id, record.event
            company = tenants.get(task)
            if company is None:
                continue
            if isinstance(event, ev.TaskReset):
                offsets[task] = offsets.get(task, 0) + 1
                continue
            assert isinstance(event, ev.MetricsReported)
            offset = offsets.get(task, 0)
            for i, s in enumerate(event.series):
                it = event.iters[i]
                row = (
                    company,
                    task,
                    offset,
                    event.metrics[s],
                    event.variants[s],
                    0 if it is None else it,
                    exact_text(event.values[i]),
                    event.timestamps[i],
                )
                for key, value in zip(columns, row, strict=True):
                    columns[key].append(value)
        if columns["task"]:
            conn.execute(self._points, columns)
        if offsets:
            reset = sorted(offsets)
            conn.execute(
                self._runs, ([tenants[t] for t in reset], reset, [offsets[t] for t in reset])
            )
        dropped = [(tenants[t], t) for t in sorted(gone) if t in tenants]
        for table in self.tables if dropped else ():
            conn.execute(
                f"DELETE FROM {table} WHERE (company, task_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([c for c, _ in dropped], [t for _, t in dropped]),
            )
