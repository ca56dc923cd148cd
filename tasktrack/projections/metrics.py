"""`task_metrics`: last/min/max/first/mean of every (task, metric, variant), folded per report.

A task's reports in one batch are applied with one set-based `INSERT … ON CONFLICT DO UPDATE`
over arrays of their per-series stats (computed in Python by domain.metrics.batch_stats and
combine); the SET clause is the across-requests rule of domain.metrics.combine, in SQL. The
cap of 2000 pairs per task admits new pairs in order of first appearance while there is room.
Min and max cannot be undone, so a reset (or delete) removes the task's rows and the next
report starts a fresh aggregate.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.metrics import MAX_PAIRS_PER_TASK, Series, Stats, batch_stats, combine
from tasktrack.domain.models import model_of
from tasktrack.domain.records import Recorded
from tasktrack.domain.reports import points
from tasktrack.domain.state import TaskState
from tasktrack.projections import pinning
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.tenants import replayed_owner, tenant

_BETTER_MIN = "(EXCLUDED.min_value < t.min_value OR t.min_value IS NULL)"
_BETTER_MAX = "(EXCLUDED.max_value > t.max_value OR t.max_value IS NULL)"
# The mean is rounded once, to a double: the exact sum gets 40 more decimals before dividing
# (numeric division keeps the dividend's scale), so the quotient is exact whenever it is a
# finite decimal (a count of up to 2^40 halvings) and far closer than a double's last place
# otherwise; the float8 cast then rounds it correctly, ties to even. Rounding the quotient to
# the sum's own scale first would round ties twice (found by the time-travel property test).
_MEAN = "(round({sum}, scale({sum}) + 40) / {n})::float8"


@functools.cache  # one per table name: projectors are made per command
def _upsert_sql(table: str) -> str:
    return f"""
WITH b AS (
    SELECT * FROM unnest(
        %(metric)s::text[], %(variant)s::text[], %(value)s::float8[], %(label)s::text[],
        %(min)s::float8[], %(min_it)s::int8[], %(max)s::float8[], %(max_it)s::int8[],
        %(first)s::float8[], %(first_it)s::int8[], %(count)s::int8[], %(finite)s::int8[],
        %(nonfinite)s::int8[], %(sum)s::numeric[]
    ) WITH ORDINALITY AS b(metric, variant, value, x_axis_label, min_value,
        min_value_iteration, max_value, max_value_iteration, first_value,
        first_value_iteration, count, finite_count, nonfinite_count, value_sum, ord)
), have AS (
    SELECT metric, variant FROM {table} WHERE company = %(company)s AND task_id = %(task)s
), admitted AS (
    SELECT b.* FROM b JOIN have USING (metric, variant)
    UNION ALL (
        SELECT b.* FROM b
        WHERE NOT EXISTS (
            SELECT 1 FROM have h WHERE h.metric = b.metric AND h.variant = b.variant)
        ORDER BY b.ord
        LIMIT greatest(0, %(cap)s - (SELECT count(*) FROM have))
    )
)
INSERT INTO {table} AS t (task_id, company, metric, variant, metric_hash, variant_hash, value,
    x_axis_label, min_value, min_value_iteration, max_value, max_value_iteration, first_value,
    first_value_iteration, count, finite_count, nonfinite_count, value_sum, mean_value)
SELECT %(task)s, %(company)s, metric, variant, md5(metric), md5(variant), value, x_axis_label,
    min_value, min_value_iteration, max_value, max_value_iteration, first_value,
    first_value_iteration, count, finite_count, nonfinite_count, value_sum,
    CASE WHEN finite_count > 0 THEN {_MEAN.format(sum="value_sum", n="finite_count")} END
FROM admitted
ON CONFLICT (company, task_id, metric, variant) DO UPDATE SET
    value = EXCLUDED.value,
    x_axis_label = EXCLUDED.x_axis_label,
    min_value = CASE WHEN {_BETTER_MIN} THEN EXCLUDED.min_value ELSE t.min_value END,
    min_value_iteration = CASE WHEN {_BETTER_MIN}
        THEN EXCLUDED.min_value_iteration ELSE t.min_value_iteration END,
    max_value = CASE WHEN {_BETTER_MAX} THEN EXCLUDED.max_value ELSE t.max_value END,
    max_value_iteration = CASE WHEN {_BETTER_MAX}
        THEN EXCLUDED.max_value_iteration ELSE t.max_value_iteration END,
    first_value = coalesce(t.first_value, EXCLUDED.first_value),
    first_value_iteration = CASE WHEN t.first_value IS NULL
        THEN EXCLUDED.first_value_iteration ELSE t.first_value_iteration END,
    count = t.count + EXCLUDED.count,
    finite_count = t.finite_count + EXCLUDED.finite_count,
    nonfinite_count = t.nonfinite_count + EXCLUDED.nonfinite_count,
    value_sum = t.value_sum + EXCLUDED.value_sum,
    mean_value = CASE WHEN t.finite_count + EXCLUDED.finite_count > 0 THEN {
        _MEAN.format(
            sum="(t.value_sum + EXCLUDED.value_sum)", n="(t.finite_count + EXCLUDED.finite_count)"
        )
    } END
"""


# A deferring projector writes once it holds this many (task, metric, variant) folds.
DEFER_SERIES = 20_000
Folded = tuple[str, dict[Series, Stats]]  # a task's company, and its reports folded per series


# The columns a replay stages (metric_hash, variant_hash and mean_value are computed in SQL).
_STAGED = (
    "task_id",
    "company",
    "metric",
    "variant",
    "value",
    "x_axis_label",
    "min_value",
    "min_value_iteration",
    "max_value",
    "max_value_iteration",
    "first_value",
    "first_value_iteration",
    "count",
    "finite_count",
    "nonfinite_count",
    "value_sum",
)


class MetricsProjector(StreamReplay):
    name = "task_metrics"
    kinds = frozenset({"task", "model"})

    def __init__(self, table: str = "task_metrics", cap: int = MAX_PAIRS_PER_TASK) -> None:
        self.table = table
        # The live table (not a rebuild's or verify's twin): on Citus, run on its worker.
        self._live = table == "task_metrics"
        self.cap = cap
        self._upsert = _upsert_sql(table)
        self._pending: dict[str, Folded] = {}  # by task, while deferred
        self._deferred = False

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # A replay holds many reports per task: they are folded here with the across-requests
        # rule (combine) and written with one upsert per task, which is what applying them
        # one by one would leave. The cap still admits new pairs in order of first
        # appearance: room only shrinks, so a pair refused by an earlier report is refused by
        # the merged one too. A reset or delete flushes its task's pending reports first, so
        # the DELETE sees them. Inline (one event per batch) this is one upsert per report.
        # Deferred (a rebuild), the folded stats wait across batches until they hold
        # DEFER_SERIES series: memory grows with the series touched, not with the points.
        # (Not deferred, the folds are this call's own: inline projectors serve every thread.)
        pending = self._pending if self._deferred else {}
        for record in batch:
            event = record.event
            task = record.stream_id
            if isinstance(event, ev.ModelMetricsReported | ev.ModelDeleted):
                # A model's scalars (model_event) are keyed by the model's id, as ClearML's.
                task = model_of(task)
            if isinstance(event, ev.MetricsReported | ev.ModelMetricsReported):
                _, merged = pending.setdefault(task, (tenant(record, states), {}))
                for key, stats in batch_stats(points(event, task)).items():
                    merged[key] = combine(merged.get(key), stats)
            elif isinstance(event, ev.TaskReset | ev.TaskDeleted | ev.ModelDeleted):
                if task in pending:
                    self._upsert_stats(conn, task, *pending.pop(task))
                conn.execute(
                    f"DELETE FROM {self.table} WHERE company = %s AND task_id = %s",
                    (tenant(record, states), task),
                )
        if not self._deferred or sum(len(m) for _, m in pending.values()) >= DEFER_SERIES:
            self._write(conn, pending)

    def defer(self) -> None:
        self._deferred = True

    def finish(self, conn: psycopg.Connection[Any]) -> None:
        self._write(conn, self._pending)

    def _write(self, conn: psycopg.Connection[Any], pending: dict[str, Folded]) -> None:
        """Write every task's folded stats, one upsert per task."""
        for task, (company, merged) in pending.items():
            self._upsert_stats(conn, task, company, merged)
        pending.clear()

    # The replay's fast path. A task's whole stream is folded here with the same rules (its
    # reports combined in order, a reset starting afresh, the cap admitting pairs in order of
    # first appearance: room only shrinks, so that is what report-by-report admission left),
    # and each row goes out once by COPY into a staging table. The mean is then computed by
    # the same SQL expression as the upsert's, in one INSERT … SELECT (replay_finish): a mean
    # rounded in Python could differ from SQL's in the last place.

    @property
    def _staged(self) -> str:
        return f"{self.table}__staged"

    def replay_begin(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {self._staged}")
        conn.execute(
            f"CREATE UNLOGGED TABLE {self._staged} AS "
            f"SELECT {', '.join(_STAGED)} FROM {self.table} WITH NO DATA"
        )

    def replay(self, stream: Stream, out: Rows) -> None:
        owner = replayed_owner(stream)
        if owner is None:
            return
        owner_id, company = owner
        merged: dict[Series, Stats] = {}
        for record in stream.records:
            event = record.event
            if isinstance(event, ev.MetricsReported | ev.ModelMetricsReported):
                for key, stats in batch_stats(points(event, owner_id)).items():
                    merged[key] = combine(merged.get(key), stats)
            elif isinstance(event, ev.TaskReset):
                merged = {}
        for (metric, variant), s in list(merged.items())[: self.cap]:
            out.add(
                self._staged,
                _STAGED,
                (
                    owner_id,
                    company,
                    metric,
                    variant,
                    s.value,
                    s.x_axis_label,
                    s.min_value,
                    s.min_value_iteration,
                    s.max_value,
                    s.max_value_iteration,
                    s.first_value,
                    s.first_value_iteration,
                    s.count,
                    s.finite_count,
                    s.nonfinite_count,
                    s.value_sum,
                ),
            )

    def replay_finish(self, conn: psycopg.Connection[Any]) -> None:
        listed = ", ".join(_STAGED)
        mean = _MEAN.format(sum="value_sum", n="finite_count")
        conn.execute(
            f"INSERT INTO {self.table} ({listed}, metric_hash, variant_hash, mean_value) "
            f"SELECT {listed}, md5(metric), md5(variant), "
            f"CASE WHEN finite_count > 0 THEN {mean} END FROM {self._staged}"
        )
        conn.execute(f"DROP TABLE {self._staged}")

    def _upsert_stats(
        self, conn: psycopg.Connection[Any], task: str, company: str, stats: dict[Series, Stats]
    ) -> None:
        keys = list(stats)
        rows = [stats[k] for k in keys]
        pinning.run(
            conn,
            company,
            self._upsert,
            {
                "task": task,
                "company": company,
                "cap": self.cap,
                "metric": [k[0] for k in keys],
                "variant": [k[1] for k in keys],
                "value": [s.value for s in rows],
                "label": [s.x_axis_label for s in rows],
                "min": [s.min_value for s in rows],
                "min_it": [s.min_value_iteration for s in rows],
                "max": [s.max_value for s in rows],
                "max_it": [s.max_value_iteration for s in rows],
                "first": [s.first_value for s in rows],
                "first_it": [s.first_value_iteration for s in rows],
                "count": [s.count for s in rows],
                "finite": [s.finite_count for s in rows],
                "nonfinite": [s.nonfinite_count for s in rows],
                "sum": [s.value_sum for s in rows],
            },
            live=self._live,
        )
