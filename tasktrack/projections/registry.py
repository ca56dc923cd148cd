"""Every projector tasktrack has: its tables, and whether it runs inline or catching up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import msgspec

from tasktrack.projections.activity import ActivityProjector
from tasktrack.projections.base import Projector
from tasktrack.projections.log_lines import LogLinesProjector
from tasktrack.projections.metric_points import MetricPointsProjector
from tasktrack.projections.metrics import MetricsProjector
from tasktrack.projections.models import ModelsProjector
from tasktrack.projections.projects import ProjectsProjector
from tasktrack.projections.queues import QueuesProjector
from tasktrack.projections.reported import ReportedEventsProjector
from tasktrack.projections.status_history import StatusHistoryProjector
from tasktrack.projections.tasks import TasksProjector

Mode = Literal["inline", "catch_up"]


class ProjectorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A projector: its name, the tables it owns (in order), and how to make one that writes
    into other tables of the same shape (a replay's twin tables)."""

    name: str
    tables: tuple[str, ...]
    mode: Mode
    make: Callable[[Mapping[str, str]], Projector]

    def projector(self, rename: Mapping[str, str] | None = None) -> Projector:
        names = {t: (rename or {}).get(t, t) for t in self.tables}
        return self.make(names)


# Order matters: the tasks projector runs first in a batch (the others read task states).
PROJECTORS: tuple[ProjectorSpec, ...] = (
    ProjectorSpec(
        name="tasks", tables=("tasks",), mode="inline", make=lambda t: TasksProjector(t["tasks"])
    ),
    ProjectorSpec(
        name="task_status_history",
        tables=("task_status_history",),
        mode="inline",
        make=lambda t: StatusHistoryProjector(t["task_status_history"]),
    ),
    ProjectorSpec(
        name="queues",
        tables=("queues", "queue_entries"),
        mode="inline",
        make=lambda t: QueuesProjector(t["queues"], t["queue_entries"]),
    ),
    ProjectorSpec(
        name="task_metrics",
        tables=("task_metrics",),
        mode="inline",
        make=lambda t: MetricsProjector(t["task_metrics"]),
    ),
    ProjectorSpec(
        name="task_metric_points",
        tables=("task_metric_points", "task_metric_series", "task_runs"),
        mode="inline",
        make=lambda t: MetricPointsProjector(
            t["task_metric_points"], t["task_metric_series"], t["task_runs"]
        ),
    ),
    ProjectorSpec(
        name="task_log_lines",
        tables=("task_log_lines",),
        mode="inline",
        make=lambda t: LogLinesProjector(t["task_log_lines"]),
    ),
    ProjectorSpec(
        name="task_reported_events",
        tables=("task_reported_events",),
        mode="inline",
        make=lambda t: ReportedEventsProjector(t["task_reported_events"]),
    ),
    ProjectorSpec(
        name="projects",
        tables=("projects",),
        mode="inline",
        make=lambda t: ProjectsProjector(t["projects"]),
    ),
    ProjectorSpec(
        name="models",
        tables=("models",),
        mode="inline",
        make=lambda t: ModelsProjector(t["models"]),
    ),
    ProjectorSpec(
        name="activity_daily",
        tables=("activity_daily", "activity_task_projects"),
        mode="catch_up",
        make=lambda t: ActivityProjector(t["activity_daily"], t["activity_task_projects"]),
    ),
)

BY_NAME = {p.name: p for p in PROJECTORS}


def inline() -> tuple[Projector, ...]:
    """The projectors the service runs in every write transaction."""
    return tuple(p.projector() for p in PROJECTORS if p.mode == "inline")


def catch_up() -> tuple[ProjectorSpec, ...]:
    return tuple(p for p in PROJECTORS if p.mode == "catch_up")


def select(names: list[str]) -> list[ProjectorSpec]:
    """Specs by name (all when `names` is empty); an unknown name is a ValueError."""
    if not names:
        return list(PROJECTORS)
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown projections {unknown}; known: {sorted(BY_NAME)}")
    return [p for p in PROJECTORS if p.name in names]
