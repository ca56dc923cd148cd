"""The workers service's endpoints, declared as the models' are: every worker command by its
`endpoint` (status_report is a task-side command, served with the tasks'), and the queries
with their request Structs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from tasktrack.domain import worker_commands as wc
from tasktrack.domain.commands import Command, ReportWorkerStatus
from tasktrack.http.calls import Call, Spec
from tasktrack.queries.worker_stats import StatItem
from tasktrack.queries.workers import WorkerFilter

Interval = Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)]
Date = Annotated[float, msgspec.Meta(ge=0)]


class GetCount(WorkerFilter, frozen=True, kw_only=True):
    last_seen: int | None = 0


class MetricKeys(msgspec.Struct, frozen=True, kw_only=True):
    worker_ids: list[str] | None = None


class ActivityRequest(msgspec.Struct, frozen=True, kw_only=True):
    from_date: Date
    to_date: Date
    interval: Interval


class StatsRequest(ActivityRequest, frozen=True, kw_only=True):
    items: Annotated[list[StatItem], msgspec.Meta(min_length=1)]
    worker_ids: list[str] | None = None
    split_by_variant: bool = False  # obsolete in ClearML too
    split_by_resource: bool = False


def _command(call: Call, command: Command) -> Any:
    return call.client.execute(command, request_id=call.request_id)


def _from_worker(call: Call, command: wc.RegisterWorker | ReportWorkerStatus) -> Any:
    """A worker's own call: its address is where the call came from, never the body's."""
    command = msgspec.structs.replace(command, ip=call.address or None)
    return call.client.execute(command, request_id=call.request_id)


def _get_all(call: Call, body: WorkerFilter) -> Any:
    return {"workers": call.client.get_workers(body)}


def _get_count(call: Call, body: GetCount) -> Any:
    return {"count": call.client.count_workers(body)}


def _metric_keys(call: Call, body: MetricKeys) -> Any:
    return {"categories": call.client.worker_metric_keys(body.worker_ids)}


def _stats(call: Call, body: StatsRequest) -> Any:
    found = call.client.worker_stats(
        body.items,
        body.from_date,
        body.to_date,
        body.interval,
        split_by_resource=body.split_by_resource,
        worker_ids=body.worker_ids,
    )
    return {"workers": found}


def _activity(call: Call, body: ActivityRequest) -> Any:
    return call.client.worker_activity(body.from_date, body.to_date, body.interval)


def endpoints() -> list[Spec]:
    specs = [
        Spec(name=kind.endpoint, request=kind, run=_command, summary=kind.summary)
        for kind in wc.declared()
        if kind.endpoint is not None
    ]
    # Replaces the generic spec of these commands (the table keeps the last of a name).
    specs += [
        Spec(name=kind.endpoint, request=kind, run=_from_worker, summary=kind.summary)
        for kind in (wc.RegisterWorker, ReportWorkerStatus)
        if kind.endpoint is not None
    ]
    specs += [
        Spec(
            name="workers.get_all",
            request=WorkerFilter,
            run=_get_all,
            summary="Registered workers seen within last_seen seconds",
        ),
        Spec(
            name="workers.get_count",
            request=GetCount,
            run=_get_count,
            summary="How many workers are registered",
        ),
        Spec(
            name="workers.get_metric_keys",
            request=MetricKeys,
            run=_metric_keys,
            summary="The machine-stats metrics workers reported, by category",
        ),
        Spec(
            name="workers.get_stats",
            request=StatsRequest,
            run=_stats,
            summary="Workers' machine stats aggregated over time",
        ),
        Spec(
            name="workers.get_activity_report",
            request=ActivityRequest,
            run=_activity,
            summary="How many workers reported (and ran a task) over time",
        ),
    ]
    return specs
