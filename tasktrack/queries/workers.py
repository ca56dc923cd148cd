"""Workers as ClearML answers about them: the registered ones (get_all, get_count), read from
their rows, and their machine statistics over time (get_metric_keys, get_stats,
get_activity_report), read from the bounded `worker_reports` series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, Executable, and_, func, not_, select, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DataError

from tasktrack.domain import workers as rules
from tasktrack.domain.errors import BadFilter
from tasktrack.domain.worker_errors import WorkerStatsNotFound
from tasktrack.queries.filter_request import check_pattern, check_values
from tasktrack.store.tables import projects, queues, tasks, workers

Aggregation = Literal["avg", "min", "max"]

# Chart bounds: dates up to the year 9999 (seconds), and at most as many buckets as ClearML's
# Elasticsearch answers in one search (search.max_buckets): a wider chart is refused (400/16).
MAX_DATE = 253_402_300_799
MAX_BUCKETS = 65_536
# A last_seen beyond this (about 31 years) filters nothing more.
MAX_LAST_SEEN = 1_000_000_000


def _execute(conn: Connection, stmt: Executable, params: dict[str, Any] | None = None) -> Any:
    """Run a read; a value PostgreSQL refuses (a NUL in a name, a number out of range) is a
    bad filter (400/16), not a server error."""
    try:
        result: Result[Any] = conn.execute(stmt, params or {})
        return result
    except DataError as exc:
        conn.rollback()
        raise BadFilter(f"invalid filter value: {exc.orig}") from exc


class IdName(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    name: str | None = None


class CurrentTask(IdName, frozen=True, kw_only=True, omit_defaults=True):
    running_time: int | None = None
    last_iteration: int | None = None


class QueueEntry(IdName, frozen=True, kw_only=True, omit_defaults=True):
    display_name: str | None = None
    next_task: IdName | None = None
    num_tasks: int | None = None


class WorkerView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A registered worker, shaped as ClearML's workers.get_all answers."""

    id: str
    key: str
    user: IdName
    company: IdName
    ip: str | None = None
    register_time: datetime
    register_timeout: int
    last_activity_time: datetime
    last_report_time: datetime | None = None
    task: CurrentTask | None = None
    project: IdName | None = None
    queue: QueueEntry | None = None
    queues: list[QueueEntry] = []
    tags: list[str] = []
    system_tags: list[str] = []


class WorkerFilter(msgspec.Struct, frozen=True, kw_only=True):
    """get_all's and get_count's filters (last_seen: seconds; 0 or None: no filter)."""

    last_seen: int | None = 3600
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    worker_pattern: str | None = None


def _check(f: WorkerFilter) -> None:
    check_values("tags", f.tags)
    check_values("system_tags", f.system_tags)
    check_pattern("worker_pattern", f.worker_pattern)


def _where(company: str, f: WorkerFilter, now: datetime) -> list[Any]:
    _check(f)
    w = workers.c
    conds: list[Any] = [
        w.company == company,
        not_(w.gone),
        w.last_activity + w.timeout * text("interval '1 second'") > now,
    ]
    if f.last_seen:
        conds.append(
            w.last_activity >= now - timedelta(seconds=min(max(1, f.last_seen), MAX_LAST_SEEN))
        )
    for column, tags in ((w.tags, f.tags), (w.system_tags, f.system_tags)):
        include, exclude = rules.split_tags(tags)
        if include:
            conds.append(column.overlap(include))
        if exclude:
            conds.append(not_(column.overlap(exclude)))
    if f.worker_pattern:
        conds.append(w.id.regexp_match(rules.glob_regex(f.worker_pattern)))
    return conds


def count(conn: Connection, company: str, f: WorkerFilter, now: datetime) -> int:
    stmt = select(func.count()).select_from(workers).where(*_where(company, f, now))
    return int(_execute(conn, stmt).scalar_one())


def get_all(conn: Connection, company: str, f: WorkerFilter, now: datetime) -> list[WorkerView]:
    w, t, p = workers.c, tasks.c, projects.c
    stmt = (
        select(
            workers,
            t.name.label("task_name"),
            t.active_duration,
            t.last_iteration,
            t.project.label("project_id"),
            p.name.label("project_name"),
        )
        .select_from(
            workers.outerjoin(tasks, and_(t.id == w.task, t.company == w.company)).outerjoin(
                projects, and_(p.id == t.project, p.company == w.company)
            )
        )
        .where(*_where(company, f, now))
        .order_by(w.id)
    )
    rows = _execute(conn, stmt).mappings().all()
    queue_ids = sorted({q for r in rows for q in [*r["queues"], r["queue"]] if q})
    names: dict[str, str] = {}
    if queue_ids:
        found = _execute(
            conn,
            select(queues.c.id, queues.c.name).where(
                queues.c.company == company, queues.c.id.in_(queue_ids)
            ),
        )
        names = {r.id: r.name for r in found}
    return [_view(company, r, names) for r in rows]


def _view(company: str, r: Any, names: dict[str, str]) -> WorkerView:
    entries = [QueueEntry(id=q, name=names.get(q)) for q in r["queues"]]
    queue = next((e for e in entries if e.id == r["queue"]), None) if r["queue"] else None
    task = None
    if r["task"]:
        task = CurrentTask(
            id=r["task"],
            name=r["task_name"],
            running_time=(r["active_duration"] or 0) * 1000,
            last_iteration=r["last_iteration"],
        )
    project = IdName(id=r["project_id"], name=r["project_name"]) if r["project_id"] else None
    return WorkerView(
        id=r["id"],
        key=_key(company, r["user_id"], r["id"]),
        user=IdName(id=r["user_id"], name=r["user_id"]),
        company=IdName(id=company, name=company),
        ip=r["ip"],
        register_time=r["register_time"],
        register_timeout=r["timeout"],
        last_activity_time=r["last_activity"],
        last_report_time=r["last_report"],
        task=task,
        project=project,
        queue=queue,
        queues=entries,
        tags=list(r["tags"]),
        system_tags=list(r["system_tags"]),
    )


class QueueWorker(msgspec.Struct, frozen=True, kw_only=True):
    """A registered worker listening to a queue, as ClearML's queues.get_all_ex lists it."""

    name: str
    ip: str | None
    key: str
    task: IdName | None


def listening(
    conn: Connection, company: str, queue_ids: Sequence[str], now: datetime
) -> dict[str, list[QueueWorker]]:
    """The registered workers listening to each of these queues (for the queues service)."""
    found: dict[str, list[QueueWorker]] = {q: [] for q in queue_ids}
    if not queue_ids:
        return found
    everyone = WorkerFilter(last_seen=0)
    stmt = (
        select(workers, tasks.c.name.label("task_name"))
        .select_from(
            workers.outerjoin(
                tasks, and_(tasks.c.id == workers.c.task, tasks.c.company == workers.c.company)
            )
        )
        .where(*_where(company, everyone, now), workers.c.queues.overlap(list(queue_ids)))
        .order_by(workers.c.id)
    )
    for r in _execute(conn, stmt).mappings():
        task = IdName(id=r["task"], name=r["task_name"]) if r["task"] else None
        entry = QueueWorker(
            name=r["id"], ip=r["ip"], key=_key(company, r["user_id"], r["id"]), task=task
        )
        for q in r["queues"]:
            if q in found:
                found[q].append(entry)
    return found


def _key(company: str, user: str, worker: str) -> str:
    """ClearML's key of a worker entry."""
    return f"worker_{company}_{user}_{worker}"


# --- statistics ------------------------------------------------------------------------------


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
    found = sorted(r[0] for r in _execute(conn, stmt, params))
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


def _range(from_date: float, to_date: float, interval: int) -> tuple[list[int], int]:
    if from_date >= to_date:
        raise BadFilter("from_date must be less than to_date")
    if to_date > MAX_DATE:
        raise BadFilter(f"to_date must be at most {MAX_DATE}")
    step = rules.chart_interval(interval)
    if (to_date - from_date) / step > MAX_BUCKETS:
        raise BadFilter(f"at most {MAX_BUCKETS} intervals in one chart: use a longer interval")
    return rules.buckets(from_date, to_date, step), step * 1000


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
        total = _execute(
            conn,
            text(f"SELECT worker, bucket, {agg}(value) FROM ({_VALUES}) x GROUP BY 1, 2"),
            params,
        ).all()
        split: dict[str, dict[int, dict[int, float]]] = {}
        if split_by_resource and item.key.startswith("gpu_"):
            per = _execute(
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
    keys, step = _range(from_date, to_date, interval)
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
    found = {int(b): (int(n), int(a)) for b, n, a in _execute(conn, stmt, params)}
    return ActivityReport(
        total=ActivitySeries(dates=keys, counts=[found.get(k, (0, 0))[0] for k in keys]),
        active=ActivitySeries(dates=keys, counts=[found.get(k, (0, 0))[1] for k in keys]),
    )
