"""Reading serving containers: the live endpoints, the loading instances, an endpoint's
details and its charts (serving.get_endpoints, get_loading_instances, get_endpoint_details,
get_endpoint_metrics_history), in ClearML's shapes."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, literal_column, select

from tasktrack.domain.errors import BadFilter, DomainError, InvalidRequest
from tasktrack.domain.serving import ContainerRow
from tasktrack.queries.worker_stats import MAX_BUCKETS, MAX_DATE
from tasktrack.store.servingrows import COLUMNS, row_of
from tasktrack.store.tables import serving_containers, serving_reports

MIN_INTERVAL = 40  # seconds, ClearML's min_chart_interval_sec
_MB_TO_GB = 1 / 1024
# metric type -> (chart value, title, how instances add up, unit factor)
CHARTS: dict[str, tuple[str, str, Literal["sum", "avg"], float]] = {
    "requests": ("requests_num", "Number of Requests", "sum", 1.0),
    "requests_min": ("requests_min", "Requests per Minute", "sum", 1.0),
    "latency_ms": ("latency_ms", "Average Latency (ms)", "avg", 1.0),
    "cpu_count": ("cpu_num", "CPU Count", "sum", 1.0),
    "gpu_count": ("gpu_num", "GPU Count", "sum", 1.0),
    "cpu_util": ("cpu_usage", "Average CPU Load (%)", "avg", 1.0),
    "gpu_util": ("gpu_usage", "Average GPU Utilization (%)", "avg", 1.0),
    "ram_total": ("memory_total", "RAM Total (GB)", "sum", _MB_TO_GB),
    "ram_used": ("memory_used", "RAM Used (GB)", "sum", _MB_TO_GB),
    "ram_free": ("memory_free", "RAM Free (GB)", "sum", _MB_TO_GB),
    "gpu_ram_total": ("gpu_memory_total", "GPU RAM Total (GB)", "sum", _MB_TO_GB),
    "gpu_ram_used": ("gpu_memory_used", "GPU RAM Used (GB)", "sum", _MB_TO_GB),
    "gpu_ram_free": ("gpu_memory_free", "GPU RAM Free (GB)", "sum", _MB_TO_GB),
    "network_rx": ("network_rx", "Network Throughput RX (MBps)", "sum", 1.0),
    "network_tx": ("network_tx", "Network Throughput TX (MBps)", "sum", 1.0),
}


class NoContainersForUrl(DomainError):
    """No live container serves this url (ClearML's 400/1052)."""

    subcode = 1052


def _live(conn: Connection, company: str, now: datetime) -> list[ContainerRow]:
    t = serving_containers
    rows = conn.execute(
        select(*(t.c[c] for c in COLUMNS))
        .where(
            t.c.company == company,
            t.c.last_activity + t.c.timeout * literal_column("interval '1 second'") > now,
        )
        .order_by(t.c.id)
    )
    return [row_of(tuple(r)) for r in rows]


def _avg(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summary(rows: Sequence[ContainerRow]) -> dict[str, Any]:
    def numbers(field: str) -> list[float]:
        return [r.status[field] for r in rows if isinstance(r.status.get(field), int | float)]

    uptime, latency, per_min = numbers("uptime_sec"), _avg(numbers("latency_ms")), None
    if numbers("requests_min"):
        per_min = round(sum(numbers("requests_min")) / len(numbers("requests_min")), 2)
    first = rows[0]
    return {
        "endpoint": first.endpoint_name,
        "model": first.model_name,
        "url": first.endpoint_url,
        "instances": len(rows),
        "uptime_sec": max(uptime) if uptime else None,
        "requests": sum(numbers("requests_num")),
        "requests_min": per_min,
        "latency_ms": round(latency) if latency is not None else None,
        "last_update": max(r.last_activity for r in rows),
    }


def endpoints(conn: Connection, company: str, now: datetime) -> list[dict[str, Any]]:
    """One summary per url that live containers serve (loading ones, with no url, aside)."""
    by_url: dict[str, list[ContainerRow]] = defaultdict(list)
    for row in _live(conn, company, now):
        if row.endpoint_url:
            by_url[row.endpoint_url].append(row)
    return [_summary(rows) for rows in by_url.values()]


def loading(conn: Connection, company: str, now: datetime) -> list[dict[str, Any]]:
    """The live containers that have no url yet (their model is loading)."""
    return [
        {
            "id": r.id,
            "endpoint": r.endpoint_name,
            "url": r.endpoint_url,
            "model": r.model_name,
            **{k: r.info.get(k) for k in ("model_source", "model_version", "preprocess_artifact")},
            **{k: r.info.get(k) for k in ("input_type", "input_size")},
            "uptime_sec": r.status.get("uptime_sec"),
            "age_sec": int((now - r.register_time).total_seconds()),
            "last_update": r.last_activity,
        }
        for r in _live(conn, company, now)
        if not r.endpoint_url
    ]


def _units(stats: Any, key: str) -> int:
    value = (stats or {}).get(key)
    if value is None:
        return 0
    return len(value) if isinstance(value, list | tuple) else 1


def details(conn: Connection, company: str, url: str, now: datetime) -> dict[str, Any]:
    rows = [r for r in _live(conn, company, now) if r.endpoint_url == url]
    if not rows:
        raise NoContainersForUrl(f"no container instances found for service url: {url}", url=url)
    first = rows[0]
    return {
        "endpoint": first.endpoint_name,
        "model": first.model_name,
        "url": url,
        **{k: first.info.get(k) for k in ("preprocess_artifact", "input_type", "input_size")},
        **{k: first.info.get(k) for k in ("model_source", "model_version")},
        "uptime_sec": max((r.status.get("uptime_sec") or 0) for r in rows),
        "last_update": max(r.last_activity for r in rows),
        "instances": [
            {
                "id": r.id,
                "uptime_sec": r.status.get("uptime_sec"),
                "requests": r.status.get("requests_num"),
                "requests_min": r.status.get("requests_min"),
                "latency_ms": r.status.get("latency_ms"),
                "last_update": r.last_activity,
                "reference": r.info.get("reference") or [],
                "cpu_count": _units(r.status.get("machine_stats"), "cpu_usage"),
                "gpu_count": _units(r.status.get("machine_stats"), "gpu_usage"),
            }
            for r in rows
        ],
    }


def metrics_history(
    conn: Connection,
    company: str,
    url: str,
    *,
    from_date: float,
    to_date: float,
    interval: int,
    metric_type: str = "requests",
    instance_charts: bool = True,
) -> dict[str, Any]:
    """An endpoint's chart: buckets of `interval` seconds (at least MIN_INTERVAL, aligned to
    the epoch), per container its mean in the bucket (its max for the request count), and the
    containers' sum or mean; an incomplete last bucket is left out, as ClearML does."""
    if from_date >= to_date:
        raise InvalidRequest("from_date must be less than to_date", field="from_date")
    if from_date < 0 or interval < 1:
        raise InvalidRequest("Validation error: from_date >= 0 and interval >= 1 are required")
    if to_date > MAX_DATE:
        raise BadFilter(f"to_date must be at most {MAX_DATE}")
    if (to_date - from_date) / max(interval, MIN_INTERVAL) > MAX_BUCKETS:
        raise BadFilter(f"at most {MAX_BUCKETS} intervals in one chart: use a longer interval")
    chart = CHARTS.get(metric_type)
    if chart is None:
        raise InvalidRequest(f"Validation error: unknown metric_type {metric_type!r}")
    field, title, add_up, factor = chart
    step = max(interval, MIN_INTERVAL)
    answer: dict[str, Any] = {
        "computed_interval": step,
        "total": {"title": title, "dates": [], "values": []},
        "instances": {},
    }
    t = serving_reports
    rows = conn.execute(
        select(t.c.container, t.c.ts, t.c["values"]).where(
            t.c.company == company,
            t.c.endpoint_url == url,
            t.c.ts >= int(from_date * 1000),
            t.c.ts <= int(to_date * 1000),
        )
    ).all()
    if not rows:
        return answer
    width = step * 1000
    samples: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for container, ts, values in rows:
        if isinstance(values.get(field), int | float):
            samples[ts // width * width][container].append(float(values[field]))
    containers = sorted({r[0] for r in rows})
    if metric_type == "requests":
        keys = sorted(k for k, v in samples.items() if v)  # ClearML: only buckets with data
    else:
        first = math.floor(from_date * 1000 / width) * width
        keys = list(range(first, int(to_date * 1000) + 1, width))
    last_valid = (to_date - 0.9 * step) * 1000
    keys = [k for k in keys if k <= last_valid]
    pick = max if metric_type == "requests" else (lambda v: sum(v) / len(v))
    per: dict[str, list[float]] = {c: [] for c in containers}
    total: list[float] = []
    for key in keys:
        found = {c: pick(v) for c, v in samples.get(key, {}).items() if v}
        values = list(found.values())
        total.append((sum(values) if add_up == "sum" else _avg(values) or 0.0) if values else 0)
        for c in containers:
            per[c].append(found.get(c, 0.0))
    answer["total"] = {"title": title, "dates": keys, "values": _rounded(total, factor)}
    if instance_charts:
        answer["instances"] = {
            c: {"title": c, "dates": keys, "values": _rounded(per[c], factor)} for c in containers
        }
    return answer


def _rounded(values: list[float], factor: float) -> list[float]:
    return [round(v * factor, 2) if v else 0 for v in values]
