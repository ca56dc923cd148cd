"""The rules of model-serving containers, pure: which reports are facts (events of the
container's stream) and which are heartbeats (its row), and the figures ClearML's serving
pages show (docs/architecture.md, "Serving containers")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.serving_commands import ContainerFields, RegisterContainer

DEFAULT_TIMEOUT = 600  # seconds, as ClearML's default_container_timeout_sec
# A container's reports are kept this long (the charts read them; nothing else does).
REPORTS_KEPT = timedelta(days=7)
# What the row keeps of a container's own description besides its key fields.
_INFO = (
    "model_source",
    "model_version",
    "preprocess_artifact",
    "input_type",
    "input_size",
    "tags",
    "system_tags",
    "reference",
)
_STATUS = ("uptime_sec", "requests_num", "requests_min", "latency_ms", "machine_stats")


class ContainerRow(msgspec.Struct, frozen=True, kw_only=True):
    """A container's latest state: what it last said, when, and until when it counts."""

    company: str
    id: str
    endpoint_name: str
    model_name: str
    endpoint_url: str | None
    info: dict[str, Any]
    status: dict[str, Any]
    register_time: datetime
    timeout: int
    last_activity: datetime

    def live(self, now: datetime) -> bool:
        return self.last_activity + timedelta(seconds=self.timeout) > now


def stream_of(company: str, container: str) -> str:
    """A container's stream id: its id is unique within its company only (length-prefixed
    company, as a worker's: two tenants never share a stream)."""
    return f"serving:{len(company)}:{company}:{container}"


def _registered(c: ContainerFields, timeout: int, ctx: Context) -> ev.ServingContainerRegistered:
    return ev.ServingContainerRegistered(
        at=ctx.now,
        by=ctx.user,
        container=c.container_id,
        endpoint_name=c.endpoint_name,
        model_name=c.model_name,
        endpoint_url=c.endpoint_url,
        timeout=timeout,
    )


def _same(row: ContainerRow, fact: ev.ServingContainerRegistered) -> bool:
    return (row.endpoint_name, row.model_name, row.endpoint_url, row.timeout) == (
        fact.endpoint_name,
        fact.model_name,
        fact.endpoint_url,
        fact.timeout,
    )


def report(
    row: ContainerRow | None, c: ContainerFields, ctx: Context
) -> tuple[ContainerRow, list[ev.AnyEvent]]:
    """A registration or a status report. A fact only when it says something new: the
    container came up (first, or again after its timeout), or now serves another model, name,
    url or timeout; a report that repeats what its row says only refreshes the row."""
    live = row if row is not None and row.live(ctx.now) else None
    if isinstance(c, RegisterContainer):
        timeout = c.timeout
    else:
        timeout = live.timeout if live is not None else DEFAULT_TIMEOUT
    fact = _registered(c, timeout, ctx)
    events: list[ev.AnyEvent] = [] if live is not None and _same(live, fact) else [fact]
    status = {f: getattr(c, f) for f in _STATUS if hasattr(c, f)}
    new = ContainerRow(
        company=ctx.company,
        id=c.container_id,
        endpoint_name=c.endpoint_name,
        model_name=c.model_name,
        endpoint_url=c.endpoint_url,
        info={f: msgspec.to_builtins(getattr(c, f)) for f in _INFO},
        status=status if status else (live.status if live is not None else {}),
        register_time=live.register_time if live is not None else ctx.now,
        timeout=timeout,
        last_activity=ctx.now,
    )
    return new, events


def unregister(row: ContainerRow | None, container: str, ctx: Context) -> list[ev.AnyEvent]:
    """The container goes; one that is not registered is let go quietly (ClearML's default,
    container_auto_unregister)."""
    if row is None:
        return []
    return [ev.ServingContainerUnregistered(at=ctx.now, by=ctx.user, container=container)]


def sample(status: dict[str, Any]) -> dict[str, float]:
    """A status report's chart values (ClearML's fields): CPU and GPU loads averaged over the
    machine's units and counted, memory in MB."""
    out: dict[str, float] = {
        k: float(status[k])
        for k in ("requests_num", "requests_min", "uptime_sec", "latency_ms")
        if isinstance(status.get(k), int | float)
    }
    stats = status.get("machine_stats") or {}
    for category in ("cpu", "gpu"):
        usage, count = _average(stats.get(f"{category}_usage"))
        if usage is not None:
            out[f"{category}_usage"], out[f"{category}_num"] = usage, float(count)
    for category in ("memory", "gpu_memory"):
        free, _ = _average(stats.get(f"{category}_free"))
        used, _ = _average(stats.get(f"{category}_used"))
        if free is not None or used is not None:
            out[f"{category}_free"] = free or 0.0
            out[f"{category}_used"] = used or 0.0
            out[f"{category}_total"] = round((free or 0.0) + (used or 0.0), 3)
    for key in ("network_rx", "network_tx"):
        if isinstance(stats.get(key), int | float):
            out[key] = float(stats[key])
    return out


def _average(value: Any) -> tuple[float | None, int]:
    if isinstance(value, list | tuple):
        numbers = [float(v) for v in value if isinstance(v, int | float)]
        return (sum(numbers) / len(numbers), len(numbers)) if numbers else (None, 0)
    if isinstance(value, int | float):
        return float(value), 1
    return None, 0
