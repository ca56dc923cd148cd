"""Scalar readers beyond the histogram: single values, raw points with a scroll, the latest
values, the multi-task histogram, and which metrics a task reported.

All read the current run's series (task_metric_series) and points (task_metric_points), never
the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, func, or_, select, tuple_

from tasktrack.queries.metrics import SINGLE_VALUE_ITER, scalar_series
from tasktrack.queries.reported import (
    MetricVariants,
    decode_token,
    encode_token,
    task_names,
)
from tasktrack.store.tables import task_metric_points, task_metric_series, task_runs, tasks

_s = task_metric_series.c
_p = task_metric_points.c
_RAW = "raw1"
MAX_RAW_BATCH = 200_000


def _current(company: str, task: Any) -> Any:
    return (
        select(func.coalesce(func.max(task_runs.c.run), 0))
        .where(task_runs.c.company == company, task_runs.c.task_id == task)
        .scalar_subquery()
    )


def _series_filter(metrics: MetricVariants | None) -> Any:
    if not metrics:
        return None
    parts = []
    for metric, variants in metrics.items():
        if variants:
            parts.append(and_(_s.metric == metric, _s.variant.in_(list(variants))))
        else:
            parts.append(_s.metric == metric)
    return or_(*parts)


def _series(
    conn: Connection, company: str, task_ids: Sequence[str], metrics: MetricVariants | None
) -> list[Any]:
    """(task, metric, variant, series_id, points) of the current run of each task."""
    wanted = [
        _s.company == company,
        _s.task_id.in_(list(task_ids)),
        _s.run == _current(company, _s.task_id),
    ]
    extra = _series_filter(metrics)
    if extra is not None:
        wanted.append(extra)
    query = (
        select(_s.task_id, _s.metric, _s.variant, _s.series_id, _s.points)
        .where(*wanted)
        .order_by(_s.task_id, _s.metric, _s.variant)
    )
    return list(conn.execute(query))


def single_values(
    conn: Connection,
    company: str,
    task_ids: Sequence[str],
    metrics: MetricVariants | None,
    *,
    models: bool = False,
) -> list[dict[str, Any]]:
    """events.get_task_single_value_metrics: per task with any, its single values."""
    names = task_names(conn, company, task_ids, models=models)
    series = {r.series_id: r for r in _series(conn, company, list(names), metrics)}
    if not series:
        return []
    query = select(_p.series_id, _p.value, _p.timestamp).where(
        _p.company == company, _p.series_id.in_(list(series)), _p.iter == SINGLE_VALUE_ITER
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for series_id, value, ts in conn.execute(query):
        s = series[series_id]
        found.setdefault(s.task_id, []).append(
            {"metric": s.metric, "variant": s.variant, "value": value, "timestamp": ts}
        )
    return [
        {
            "task": t,
            "task_name": names[t],
            "values": sorted(found[t], key=lambda v: (v["metric"], v["variant"])),
        }
        for t in task_ids
        if t in found
    ]


class RawScroll(msgspec.Struct, array_like=True):
    task: str
    metric: str
    variants: list[str]
    after_iter: int | None
    after_variant: str
    total: int | None
    batch_size: int


def raw_points(
    conn: Connection,
    company: str,
    task: str,
    metric: Mapping[str, Any] | None,
    *,
    batch_size: int | None = None,
    count_total: bool = False,
    scroll_id: str | None = None,
    models: bool = False,
) -> dict[str, Any]:
    """events.scalar_metrics_iter_raw: a metric's points in iteration order, a batch at a
    time, {variants: {variant: {iter: [...], y: [...]}}, returned, total, scroll_id}."""
    if scroll_id:
        scroll = decode_token(_RAW, scroll_id, RawScroll)
        task_names(conn, company, [scroll.task], models=models)
        scroll.batch_size = batch_size or scroll.batch_size
    else:
        task_names(conn, company, [task], models=models)
        chosen = metric or {}
        scroll = RawScroll(
            task=task,
            metric=str(chosen.get("metric") or ""),
            variants=list(chosen.get("variants") or []),
            after_iter=None,
            after_variant="",
            total=None,
            batch_size=batch_size or 10_000,
        )
    size = max(1, min(scroll.batch_size, MAX_RAW_BATCH))
    series = _series(conn, company, [scroll.task], {scroll.metric: scroll.variants})
    if count_total and scroll.total is None:
        scroll.total = sum(r.points for r in series)
    ids = {r.series_id: r.variant for r in series}
    events: list[tuple[int, str, float]] = []
    if ids:
        variant = task_metric_series.alias("v")
        wanted = [
            _p.company == company,
            _p.series_id.in_(list(ids)),
            variant.c.company == company,
            variant.c.series_id == _p.series_id,
        ]
        if scroll.after_iter is not None:
            wanted.append(
                tuple_(_p.iter, variant.c.variant) > tuple_(scroll.after_iter, scroll.after_variant)
            )
        query = (
            select(_p.iter, variant.c.variant, _p.value)
            .where(*wanted)
            .order_by(_p.iter, variant.c.variant)
            .limit(size)
        )
        events = [(r[0], r[1], r[2]) for r in conn.execute(query)]
    variants: dict[str, dict[str, list[Any]]] = {}
    for it, v, y in events:
        entry = variants.setdefault(v, {"iter": [], "y": []})
        entry["iter"].append(it)
        entry["y"].append(y)
    if events:
        scroll.after_iter, scroll.after_variant = events[-1][0], events[-1][1]
    return {
        "variants": variants,
        "returned": len(events),
        "total": scroll.total,
        "scroll_id": encode_token(_RAW, scroll),
    }


def latest_values(conn: Connection, company: str, task: str) -> dict[str, Any]:
    """events.get_task_latest_scalar_values: each series' value at its last iteration."""
    task_names(conn, company, [task])
    row = conn.execute(
        select(tasks.c.name, tasks.c.status).where(tasks.c.company == company, tasks.c.id == task)
    ).one()
    last = task_metric_points.alias("last")
    query = (
        select(_s.metric, _s.variant, last.c.value, last.c.iter, last.c.timestamp)
        .join(last, and_(last.c.company == _s.company, last.c.series_id == _s.series_id))
        .where(
            _s.company == company,
            _s.task_id == task,
            _s.run == _current(company, task),
            last.c.iter == _s.last_iter,
        )
        .order_by(_s.metric, _s.variant)
    )
    metrics: dict[str, list[dict[str, Any]]] = {}
    last_iter, last_ts = 0, None
    for metric, variant, value, it, ts in conn.execute(query):
        metrics.setdefault(metric, []).append({"name": variant, "last_value": value})
        last_iter = max(last_iter, it)
        last_ts = ts if last_ts is None else max(last_ts, ts)
    return {
        "metrics": [{"name": m, "variants": v} for m, v in metrics.items()],
        "last_iter": last_iter,
        "name": row.name,
        "status": row.status,
        "last_timestamp": last_ts,
    }


def multi_task_histogram(
    conn: Connection,
    company: str,
    task_ids: Sequence[str],
    *,
    samples: int,
    key: str = "iter",
    metrics: MetricVariants | None = None,
    models: bool = False,
) -> dict[str, Any]:
    """events.multi_task_scalar_metrics_iter_histogram: {metric: {variant: {task: {name,
    x, y}}}}, each series sampled as the single-task histogram samples it."""
    names = task_names(conn, company, task_ids, models=models)
    out: dict[str, Any] = {}
    for task in task_ids:
        for metric, by_variant in scalar_series(
            conn, company, task, samples=samples, models=models
        ).items():
            if metrics and metric not in metrics:
                continue
            for variant, view in by_variant.items():
                allowed = metrics.get(metric) if metrics else None
                if allowed and variant not in allowed:
                    continue
                entry = {"name": names[task], "x": keyed(view.x, view.timestamps, key)}
                entry["y"] = view.y
                out.setdefault(metric, {}).setdefault(variant, {})[task] = entry
    return out


def keyed(iters: list[int], timestamps: list[int], key: str) -> list[Any]:
    """The x axis by `key`: iterations, epoch ms, or ISO times (of each bucket's last point)."""
    if key == "timestamp":
        return list(timestamps)
    if key == "iso_time":
        return [
            datetime.fromtimestamp(ts / 1000, UTC).isoformat(timespec="milliseconds")
            for ts in timestamps
        ]
    return list(iters)


def scalar_metrics(
    conn: Connection, company: str, task_ids: Sequence[str], *, models: bool = False
) -> dict[str, list[str]]:
    """The scalar metrics of each task's current run."""
    names = task_names(conn, company, task_ids, models=models)
    out: dict[str, set[str]] = {t: set() for t in names}
    for r in _series(conn, company, list(names), None):
        out[r.task_id].add(r.metric)
    return {t: sorted(m) for t, m in out.items()}


def scalar_metric_variants(
    conn: Connection, company: str, task_ids: Sequence[str], *, models: bool = False
) -> dict[str, list[str]]:
    """{metric: sorted variants} of these tasks' scalars (current runs)."""
    names = task_names(conn, company, task_ids, models=models)
    out: dict[str, set[str]] = {}
    for r in _series(conn, company, list(names), None):
        out.setdefault(r.metric, set()).add(r.variant)
    return {m: sorted(v) for m, v in sorted(out.items())}
