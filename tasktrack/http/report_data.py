"""reports.get_task_data: tasks (or models) listed by tasks.get_all_ex's filters, with the
reported data a report embeds, each read by the events service's own readers."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain.reports import IMAGE
from tasktrack.http import model_endpoints, task_endpoints
from tasktrack.http.calls import Call, Spec
from tasktrack.http.event_endpoints import MetricVariants
from tasktrack.queries.metrics import DEFAULT_SAMPLES

_DATA = ("debug_images", "plots", "scalar_metrics_iter_histogram", "single_value_metrics")


class EventsRequest(msgspec.Struct, frozen=True, kw_only=True):
    iters: int = 1
    metrics: list[MetricVariants] = []


class PlotsRequest(EventsRequest, frozen=True, kw_only=True):
    last_iters_per_task_metric: bool = True


class HistogramRequest(msgspec.Struct, frozen=True, kw_only=True):
    samples: int = DEFAULT_SAMPLES
    key: str = "iter"
    metrics: list[MetricVariants] = []


class SingleValuesRequest(msgspec.Struct, frozen=True, kw_only=True):
    pass


class TaskData(msgspec.Struct, frozen=True, kw_only=True):
    """What to read besides the listing (absent: not read); `listing` is the rest of the body,
    tasks.get_all_ex's (or models.get_all_ex's, with model_events) filters."""

    listing: dict[str, Any]
    model_events: bool = False
    debug_images: EventsRequest | None = None
    plots: PlotsRequest | None = None
    scalar_metrics_iter_histogram: HistogramRequest | None = None
    single_value_metrics: SingleValuesRequest | None = None


def _parse(body: dict[str, Any]) -> TaskData:
    listing = {k: v for k, v in body.items() if k not in (*_DATA, "model_events")}
    wanted = {k: body[k] for k in (*_DATA, "model_events") if body.get(k) is not None}
    return msgspec.convert({**wanted, "listing": listing}, TaskData)


def _metrics(items: list[MetricVariants]) -> dict[str, list[str] | None] | None:
    return {m.metric: m.variants for m in items} if items else None


def _get_task_data(call: Call, body: TaskData) -> Any:
    if body.model_events:
        models = model_endpoints.parse_get_all_ex(body.listing)
        found = model_endpoints.get_all_ex(call, models)["models"]
    else:
        tasks = task_endpoints.parse_get_all_ex(body.listing)
        found = task_endpoints.get_all_ex(call, tasks)["tasks"]
    answer: dict[str, Any] = {"tasks": found}
    ids = [str(t["id"]) for t in found]
    client, models_too = call.client, body.model_events
    if body.debug_images is not None:
        asked = body.debug_images
        wanted = [
            {"task": t, "metric": m.metric, "variants": m.variants}
            for t in ids
            for m in asked.metrics
        ] or [{"task": t} for t in ids]
        read = client.get_metric_events(IMAGE, wanted, iters=asked.iters, models=models_too)
        answer["debug_images"] = read["metrics"] if ids else []
    if body.plots is not None:
        plots = client.get_multi_task_plots(
            ids,
            iters=body.plots.iters,
            metrics=_metrics(body.plots.metrics),
            last_iters_per_task_metric=body.plots.last_iters_per_task_metric,
            models=models_too,
        )
        answer["plots"] = plots["plots"]
    if body.scalar_metrics_iter_histogram is not None:
        histogram = body.scalar_metrics_iter_histogram
        answer["scalar_metrics_iter_histogram"] = client.get_multi_task_series(
            ids,
            samples=histogram.samples,
            key=histogram.key,
            metrics=_metrics(histogram.metrics),
            models=models_too,
        )
    if body.single_value_metrics is not None:
        answer["single_value_metrics"] = client.get_single_values(ids, models=models_too)
    return answer


ENDPOINTS = [
    Spec(
        name="reports.get_task_data",
        request=TaskData,
        run=_get_task_data,
        parse=_parse,
        summary="Tasks (or models) by get_all_ex's filters, with their debug images, plots, "
        "scalar histograms and single values",
    )
]
