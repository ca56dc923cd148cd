"""The events service's readers: plots, debug images, samples, single values, raw scalars,
the multi-task histogram and the metric lists (ClearML's requests and answers)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from tasktrack.http.calls import Call, Spec
from tasktrack.queries.metrics import DEFAULT_SAMPLES
from tasktrack.queries.reported import IMAGE, PLOT, VECTOR


class MetricVariants(msgspec.Struct, frozen=True, kw_only=True):
    metric: str
    variants: list[str] | None = None


class TaskMetric(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metric: str | None = None
    variants: list[str] | None = None


def _metrics(items: list[MetricVariants] | None) -> dict[str, list[str] | None] | None:
    if not items:
        return None
    return {m.metric: m.variants for m in items}


class TaskPlots(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    iters: int = 1
    scroll_id: str | None = None
    metrics: list[MetricVariants] | None = None
    model_events: bool = False


class MultiTaskPlots(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]
    iters: int = 1
    scroll_id: str | None = None
    no_scroll: bool = False
    last_iters_per_task_metric: bool = True
    metrics: list[MetricVariants] | None = None
    model_events: bool = False


class MetricEvents(msgspec.Struct, frozen=True, kw_only=True):
    metrics: list[TaskMetric]
    iters: int = 1
    navigate_earlier: bool = True
    refresh: bool = False
    scroll_id: str | None = None
    model_events: bool = False


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metric: str
    variant: str | None = None
    iteration: int | None = None
    refresh: bool = False
    scroll_id: str | None = None
    navigate_current_metric: bool = True
    model_events: bool = False


class NextSample(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    scroll_id: str
    navigate_earlier: bool = True
    next_iteration: bool = False
    model_events: bool = False


class SingleValues(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]
    metrics: list[MetricVariants] | None = None
    model_events: bool = False


class RawScalars(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metric: MetricVariants
    key: str | None = None
    batch_size: int | None = None
    count_total: bool = False
    scroll_id: str | None = None
    model_events: bool = False


class TaskEvents(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metrics: list[MetricVariants] | None = None
    event_type: str = "*"
    order: Literal["asc", "desc"] = "asc"
    batch_size: int = 500
    scroll_id: str | None = None
    count_total: bool = True
    model_events: bool = False


class TaskRequest(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    model_events: bool = False


class VectorRequest(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metric: str
    variant: str
    model_events: bool = False


class MultiTaskHistogram(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str] | str
    samples: int = DEFAULT_SAMPLES
    key: str = "iter"
    metrics: list[MetricVariants] | None = None
    model_events: bool = False


class TaskMetrics(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]
    event_type: str = "training_stats_scalar"
    model_events: bool = False


class MultiTaskMetrics(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]
    event_type: str | None = None
    model_events: bool = False


def _task_plots(call: Call, body: TaskPlots) -> Any:
    return call.client.get_task_plots(
        body.task, iters=body.iters, metrics=_metrics(body.metrics), models=body.model_events
    )


def _multi_task_plots(call: Call, body: MultiTaskPlots) -> Any:
    return call.client.get_multi_task_plots(
        body.tasks,
        iters=body.iters,
        metrics=_metrics(body.metrics),
        last_iters_per_task_metric=body.last_iters_per_task_metric,
        models=body.model_events,
        scroll_id=body.scroll_id,
        no_scroll=body.no_scroll,
    )


def _metric_events(kind: str) -> Any:
    def run(call: Call, body: MetricEvents) -> Any:
        return call.client.get_metric_events(
            kind,
            [msgspec.structs.asdict(m) for m in body.metrics],
            iters=body.iters,
            navigate_earlier=body.navigate_earlier,
            refresh=body.refresh,
            scroll_id=body.scroll_id,
            models=body.model_events,
        )

    return run


def _sample(kind: str) -> Any:
    def run(call: Call, body: Sample) -> Any:
        return call.client.get_sample(
            kind,
            body.task,
            body.metric,
            variant=body.variant,
            iteration=body.iteration,
            refresh=body.refresh,
            scroll_id=body.scroll_id,
            navigate_current_metric=body.navigate_current_metric,
            models=body.model_events,
        )

    return run


def _next_sample(kind: str) -> Any:
    def run(call: Call, body: NextSample) -> Any:
        return call.client.next_sample(
            kind,
            body.task,
            body.scroll_id,
            navigate_earlier=body.navigate_earlier,
            next_iteration=body.next_iteration,
            models=body.model_events,
        )

    return run


def _task_events(call: Call, body: TaskEvents) -> Any:
    return call.client.get_task_events(
        body.task,
        event_type=body.event_type,
        metrics=_metrics(body.metrics),
        order=body.order,
        batch_size=body.batch_size,
        count_total=body.count_total,
        scroll_id=body.scroll_id,
        models=body.model_events,
    )


def _metrics_and_variants(kind: str) -> Any:
    def run(call: Call, body: TaskRequest) -> Any:
        found = call.client.get_metrics_and_variants(body.task, kind, models=body.model_events)
        return {"metrics": found}

    return run


def _vectors(call: Call, body: VectorRequest) -> Any:
    return call.client.get_vectors(body.task, body.metric, body.variant, models=body.model_events)


def _single_values(call: Call, body: SingleValues) -> Any:
    found = call.client.get_single_values(
        body.tasks, _metrics(body.metrics), models=body.model_events
    )
    return {"tasks": found}


def _raw(call: Call, body: RawScalars) -> Any:
    return call.client.get_raw_scalars(
        body.task,
        msgspec.structs.asdict(body.metric),
        batch_size=body.batch_size,
        count_total=body.count_total,
        scroll_id=body.scroll_id,
        models=body.model_events,
    )


def _latest(call: Call, body: TaskRequest) -> Any:
    return call.client.get_latest_scalar_values(body.task)


def _multi_histogram(call: Call, body: MultiTaskHistogram) -> Any:
    tasks = body.tasks
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",")]
    metrics = call.client.get_multi_task_series(
        tasks,
        samples=body.samples,
        key=body.key,
        metrics=_metrics(body.metrics),
        models=body.model_events,
    )
    return {"metrics": metrics}


def _task_metrics(call: Call, body: TaskMetrics) -> Any:
    found = call.client.get_task_metrics(body.tasks, body.event_type, models=body.model_events)
    return {"metrics": [{"task": t, "metrics": m} for t, m in found.items()]}


def _multi_task_metrics(call: Call, body: MultiTaskMetrics) -> Any:
    found = call.client.get_multi_task_metrics(
        body.tasks, body.event_type, models=body.model_events
    )
    return {"metrics": [{"metric": m, "variants": v} for m, v in found.items()]}


ENDPOINTS = [
    Spec(
        name="events.get_scalar_metrics_and_variants",
        request=TaskRequest,
        run=_metrics_and_variants("training_stats_scalar"),
        summary="A task's scalar metrics and their variants",
    ),
    Spec(
        name="events.get_vector_metrics_and_variants",
        request=TaskRequest,
        run=_metrics_and_variants(VECTOR),
        summary="A task's vector metrics and their variants",
    ),
    Spec(
        name="events.vector_metrics_iter_histogram",
        request=VectorRequest,
        run=_vectors,
        summary="A vector series' values by iteration",
    ),
    Spec(
        name="events.get_task_events",
        request=TaskEvents,
        run=_task_events,
        summary="A task's events of every type (or one), by iteration, with a scroll",
    ),
    Spec(
        name="events.get_task_plots",
        request=TaskPlots,
        run=_task_plots,
        summary="A task's plots: the latest `iters` iterations of each (metric, variant)",
    ),
    Spec(
        name="events.get_multi_task_plots",
        request=MultiTaskPlots,
        run=_multi_task_plots,
        summary="Plots of several tasks: {metric: {variant: {task: {iter: {name, plots}}}}}",
    ),
    Spec(
        name="events.plots",
        request=MetricEvents,
        run=_metric_events(PLOT),
        summary="Plots by iteration, per task, with a scroll (earlier or later pages)",
    ),
    Spec(
        name="events.debug_images",
        request=MetricEvents,
        run=_metric_events(IMAGE),
        summary="Debug images by iteration, per task, with a scroll",
    ),
    Spec(
        name="events.get_plot_sample",
        request=Sample,
        run=_sample(PLOT),
        summary="A metric's plots at the latest iteration (at or before `iteration`)",
    ),
    Spec(
        name="events.next_plot_sample",
        request=NextSample,
        run=_next_sample(PLOT),
        summary="The neighbouring plot sample of a scroll",
    ),
    Spec(
        name="events.get_debug_image_sample",
        request=Sample,
        run=_sample(IMAGE),
        summary="A variant's debug image at the latest iteration (at or before `iteration`)",
    ),
    Spec(
        name="events.next_debug_image_sample",
        request=NextSample,
        run=_next_sample(IMAGE),
        summary="The neighbouring debug image of a scroll",
    ),
    Spec(
        name="events.get_task_single_value_metrics",
        request=SingleValues,
        run=_single_values,
        summary="Single values (report_single_value) of tasks",
    ),
    Spec(
        name="events.scalar_metrics_iter_raw",
        request=RawScalars,
        run=_raw,
        summary="A metric's points in iteration order, a batch at a time (scroll_id)",
    ),
    Spec(
        name="events.get_task_latest_scalar_values",
        request=TaskRequest,
        run=_latest,
        summary="Each scalar series' value at its last iteration",
    ),
    Spec(
        name="events.multi_task_scalar_metrics_iter_histogram",
        request=MultiTaskHistogram,
        run=_multi_histogram,
        summary="Scalar series of several tasks: {metric: {variant: {task: {name, x, y}}}}",
    ),
    Spec(
        name="events.get_task_metrics",
        request=TaskMetrics,
        run=_task_metrics,
        summary="The metrics each task reported events of `event_type` for",
    ),
    Spec(
        name="events.get_multi_task_metrics",
        request=MultiTaskMetrics,
        run=_multi_task_metrics,
        summary="Metrics and variants over several tasks (scalars unless `event_type`)",
    ),
]
