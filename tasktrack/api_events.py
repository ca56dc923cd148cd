"""The events service's readers (a mixin of tasktrack.api.Client): plots, debug images,
single values, raw scalars and the other ClearML event queries, over their read models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection

from tasktrack.queries import (
    metric_events,
    reported,
    reported_summary,
    samples,
    scalars,
    task_events,
)
from tasktrack.queries.metrics import DEFAULT_SAMPLES
from tasktrack.service import Caller

MetricVariants = Mapping[str, Sequence[str] | None]


class EventReadMethods:
    """Mixed into Client, which provides `_read` and `caller`."""

    caller: Caller

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def get_task_plots(
        self,
        task: str,
        iters: int = 1,
        metrics: MetricVariants | None = None,
        models: bool = False,
    ) -> dict[str, Any]:
        """events.get_task_plots: the latest `iters` iterations of each plot (`models`: of
        the model `task`, its model_events; so for every reader below)."""
        with self._read() as conn:
            return reported.task_plots(
                conn, self.caller.company, task, iters=iters, metrics=metrics, models=models
            )

    def get_multi_task_plots(
        self,
        tasks: Sequence[str],
        *,
        iters: int = 1,
        metrics: MetricVariants | None = None,
        last_iters_per_task_metric: bool = True,
        models: bool = False,
        scroll_id: str | None = None,
        no_scroll: bool = False,
    ) -> dict[str, Any]:
        """events.get_multi_task_plots: {metric: {variant: {task: {iter: {name, plots}}}}};
        all in the first answer, whose scroll id answers none (unless `no_scroll`)."""
        with self._read() as conn:
            return reported.multi_task_plots(
                conn,
                self.caller.company,
                tasks,
                iters=iters,
                metrics=metrics,
                last_iters_per_task_metric=last_iters_per_task_metric,
                models=models,
                scroll_id=scroll_id,
                no_scroll=no_scroll,
            )

    def get_metric_events(
        self, kind: str, metrics: Sequence[Mapping[str, Any]], **options: Any
    ) -> dict[str, Any]:
        """events.plots / events.debug_images: iterations of events per task, with a scroll
        (options: iters, navigate_earlier, refresh, scroll_id)."""
        with self._read() as conn:
            return metric_events.metric_events(conn, self.caller.company, kind, metrics, **options)

    def get_sample(self, kind: str, task: str, metric: str, **options: Any) -> dict[str, Any]:
        """events.get_plot_sample / get_debug_image_sample (options: variant, iteration,
        refresh, scroll_id, navigate_current_metric)."""
        with self._read() as conn:
            return samples.first_sample(conn, self.caller.company, kind, task, metric, **options)

    def next_sample(self, kind: str, task: str, scroll_id: str, **options: Any) -> dict[str, Any]:
        """events.next_plot_sample / next_debug_image_sample (navigate_earlier,
        next_iteration)."""
        with self._read() as conn:
            return samples.next_sample(conn, self.caller.company, kind, task, scroll_id, **options)

    def get_single_values(
        self, tasks: Sequence[str], metrics: MetricVariants | None = None, models: bool = False
    ) -> list[dict[str, Any]]:
        """events.get_task_single_value_metrics: [{task, task_name, values}]."""
        with self._read() as conn:
            return scalars.single_values(conn, self.caller.company, tasks, metrics, models=models)

    def get_raw_scalars(
        self, task: str, metric: Mapping[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        """events.scalar_metrics_iter_raw (batch_size, count_total, scroll_id)."""
        with self._read() as conn:
            return scalars.raw_points(conn, self.caller.company, task, metric, **options)

    def get_latest_scalar_values(self, task: str) -> dict[str, Any]:
        with self._read() as conn:
            return scalars.latest_values(conn, self.caller.company, task)

    def get_multi_task_series(
        self,
        tasks: Sequence[str],
        samples: int = DEFAULT_SAMPLES,
        key: str = "iter",
        metrics: MetricVariants | None = None,
        models: bool = False,
    ) -> dict[str, Any]:
        """events.multi_task_scalar_metrics_iter_histogram."""
        with self._read() as conn:
            return scalars.multi_task_histogram(
                conn,
                self.caller.company,
                tasks,
                samples=samples,
                key=key,
                metrics=metrics,
                models=models,
            )

    def get_task_metrics(
        self, tasks: Sequence[str], event_type: str, models: bool = False
    ) -> dict[str, list[str]]:
        """events.get_task_metrics: the metrics each task reported events of a type for."""
        company = self.caller.company
        with self._read() as conn:
            if event_type == "training_stats_scalar":
                return scalars.scalar_metrics(conn, company, tasks, models=models)
            return reported.task_metrics(conn, company, tasks, event_type, models=models)

    def get_multi_task_metrics(
        self, tasks: Sequence[str], event_type: str | None = None, models: bool = False
    ) -> dict[str, list[str]]:
        """events.get_multi_task_metrics: {metric: variants} over tasks' events of a type
        (every type when none is given)."""
        company = self.caller.company
        with self._read() as conn:
            if event_type == "training_stats_scalar":
                return scalars.scalar_metric_variants(conn, company, tasks, models=models)
            if event_type is not None:
                return reported.multi_task_metrics(conn, company, tasks, event_type, models=models)
            found: dict[str, set[str]] = {}
            for part in (
                scalars.scalar_metric_variants(conn, company, tasks, models=models),
                reported.multi_task_metrics(conn, company, tasks, None, models=models),
                reported.multi_task_metrics(conn, company, tasks, "log", models=models),
            ):
                for metric, variants in part.items():
                    found.setdefault(metric, set()).update(variants)
            return {m: sorted(v) for m, v in sorted(found.items())}

    def get_metrics_and_variants(
        self, task: str, event_type: str, models: bool = False
    ) -> dict[str, list[str]]:
        """events.get_scalar_metrics_and_variants / get_vector_metrics_and_variants."""
        company = self.caller.company
        with self._read() as conn:
            if event_type == "training_stats_scalar":
                return scalars.scalar_metric_variants(conn, company, [task], models=models)
            return reported.multi_task_metrics(conn, company, [task], event_type, models=models)

    def get_vectors(
        self, task: str, metric: str, variant: str, models: bool = False
    ) -> dict[str, Any]:
        """events.vector_metrics_iter_histogram: {metric, variant, vectors, iterations}."""
        with self._read() as conn:
            return reported.vectors(conn, self.caller.company, task, metric, variant, models=models)

    def get_task_events(self, task: str, **options: Any) -> dict[str, Any]:
        """events.get_task_events: every event of the task (or of one `event_type`) in
        iteration order (`order` asc or desc), `batch_size` at a time, with `scroll_id`."""
        with self._read() as conn:
            return task_events.task_events(conn, self.caller.company, task, **options)

    def get_reported_summary(self, task: str) -> reported_summary.ReportedSummary:
        """A task's plots, debug images and single values, one row per metric and variant."""
        with self._read() as conn:
            return reported_summary.summary(conn, self.caller.company, task)
