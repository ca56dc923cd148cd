"""Workers' machine statistics over time, as ClearML answers them (get_metric_keys, get_stats,
get_activity_report), read from the bounded `worker_reports` series in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
from sqlalchemy import Connection, text

from tasktrack.domain import workers as rules
from tasktrack.domain.errors import BadFilter
from tasktrack.domain.worker_errors import WorkerStatsNotFound
from tasktrack.queries.filter_request import check_values
from tasktrack.queries.workers import execute

Aggregation = Literal["avg", "min", "max"]

# Chart bounds: dates up to the year 9999 (seconds), and at most as many buckets as ClearML's
# Elasticsearch answers in one search (search.max_buckets): a wider chart is refused (400/16).
MAX_DATE = 253_402_300_799
MAX_BUCKETS = 65_536


class MetricCategory(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    metric_keys: list[str]


def metric_keys(
    conn: Connection, company: str, worker_ids: Sequence[str] | None
) -> list[MetricCategory]:
    stmt = text(
        "SELECT DISTINCT jsonb_object_keys(stats) AS metric FROM worker_reports"
        " WHERE company = :company AND (CAST(:ids AS text[]) IS NULL OR worker = ANY(:ids))"
    )
    check_values("worker_ids", worker_ids)
    params = {"company": company, "ids": _ids(worker_ids)}
    found = sorted(r[0] for r in execute(conn, stmt, params))
    if not found:
        raise WorkerStatsNotFound(
            f"No statistic metrics found for the company {company} and workers {worker_ids}"
        )
    by_category: dict[str, list[str]] = {}
    for metric in found:
        by_category.setdefault(rules.category(metric), []).append(metric)
    return [MetricCategory(name=k, metric_keys=v) for k, v in by_category.items()]


def _ids(worker_ids: Sequence[str] | None) -> list[str] | None:
    return list(worker_ids) if worker_ids else None


class StatItem(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    aggregation: Aggregation = "avg"


class ResourceSeries(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    values: list[float]


class AggregationStats(msgspec.Struct, frozen=True, kw_only=True):
    aggregation: Aggregation
    dates: list[int]
    values: list[float]
    resource_series: list[ResourceSeries] = []


class MetricStats(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    stats: list[AggregationStats]


class WorkerStats(msgspec.Struct, frozen=True, kw_only=True):
    worker: str
    metrics: list[MetricStats]


def _range(
    from_date: float, to_date: float, interval: int, *, activity: bool = False
) -> tuple[list[int], int]:
    if from_date >= to_date:
        raise BadFilter("from_date must be less than to_date")
    if to_date > MAX_DATE:
        raise BadFilter(f"to_date must be at most {MAX_DATE}")
    step = rules.chart_interval(interval)
    if (to_date - from_date) / step > MAX_BUCKETS:
        raise BadFilter(f"at most {MAX_BUCKETS} intervals in one chart: use a longer interval")
    keys = (rules.activity_buckets if activity else rules.buckets)(from_date, to_date, step)
    return keys, step * 1000


# One report's values of one metric, per resource (ord), in its bucket (ms, epoch-aligned).
_VALUES = """
SELECT r.worker, (r.ts / :step) * :step AS bucket, v.ord, CAST(v.value AS float8) AS value
FROM worker_reports r
CROSS JOIN LATERAL jsonb_array_elements_text(r.stats -> :metric) WITH ORDINALITY AS v(value, ord)
WHERE r.company = :company AND r.ts BETWEEN :lo AND :hi
  AND (CAST(:ids AS text[]) IS NULL OR r.worker = ANY(:ids))
"""


def stats(
    conn: Connection,
    company: str,
    items: Sequence[StatItem],
    from_date: float,
    to_date: float,
    *,
    interval: int,
    split_by_resource: bool,
    worker_ids: Sequence[str] | None,
) -> list[WorkerStats]:
    """Per worker, metric and aggregation: a value per bucket (0 where none), and per GPU with
    split_by_resource (only when there are several), as ClearML's get_stats answers."""
    keys, step = _range(from_date, to_date, interval)
    check_values("worker_ids", worker_ids)
    by_worker: dict[str, dict[str, list[AggregationStats]]] = {}
    for item in items:
        agg = item.aggregation
        params = {
            "step": step,
            "metric": item.key,
            "company": company,
            "lo": int(from_date * 1000),
            "hi": int(to_date * 1000),
            "ids": _ids(worker_ids),
        }
        total = execute(
            conn,
            text(f"SELECT worker, bucket, {agg}(value) FROM ({_VALUES}) x GROUP BY 1, 2"),
            params,
        ).all()
        split: dict[str, dict[int, dict[int, float]]] = {}
        if split_by_resource and item.key.startswith("gpu_"):
            per = execute(
                conn,
                text(
                    f"SELECT worker, bucket, ord, {agg}(value) FROM ({_VALUES}) x GROUP BY 1, 2, 3"
                ),
                params,
            )
            for worker, bucket, ord_, value in per:
                split.setdefault(worker, {}).setdefault(int(ord_), {})[int(bucket)] = value
        values: dict[str, dict[int, float]] = {}
        for worker, bucket, value in total:
            values.setdefault(worker, {})[int(bucket)] = value
        for worker, by_bucket in values.items():
            resources = split.get(worker, {})
            series = (
                [
                    ResourceSeries(name=str(o - 1), values=[v.get(k, 0.0) for k in keys])
                    for o, v in sorted(resources.items())
                ]
                if len(resources) > 1
                else []
            )
            stat = AggregationStats(
                aggregation=agg,
                dates=keys,
                values=[by_bucket.get(k, 0.0) for k in keys],
                resource_series=series,
            )
            by_worker.setdefault(worker, {}).setdefault(item.key, []).append(stat)
    return [
        WorkerStats(
            worker=worker,
            metrics=[MetricStats(metric=m, stats=s) for m, s in metrics.items()],
        )
        for worker, metrics in by_worker.items()
    ]


class ActivitySeries(msgspec.Struct, frozen=True, kw_only=True):
    dates: list[int]
    counts: list[int]


class ActivityReport(msgspec.Struct, frozen=True, kw_only=True):
    total: ActivitySeries
    active: ActivitySeries


def activity(
    conn: Connection, company: str, from_date: float, to_date: float, interval: int
) -> ActivityReport:
    """Per bucket, how many workers reported machine stats, and how many of them ran a task."""
    keys, step = _range(from_date, to_date, interval, activity=True)
    stmt = text(
        "SELECT (ts / :step) * :step, count(DISTINCT worker),"
        " count(DISTINCT worker) FILTER (WHERE task IS NOT NULL)"
        " FROM worker_reports WHERE company = :company AND ts BETWEEN :lo AND :hi GROUP BY 1"
    )
    params = {
        "step": step,
        "company": company,
        "lo": int(from_date * 1000),
        "hi": int(to_date * 1000),
    }
    found = {int(b): (int(n), int(a)) for b, n, a in execute(conn, stmt, params)}
    return ActivityReport(
        total=ActivitySeries(dates=keys, counts=[found.get(k, (0, 0))[0] for k in keys]),
        active=ActivitySeries(dates=keys, counts=[found.get(k, (0, 0))[1] for k in keys]),
    )
