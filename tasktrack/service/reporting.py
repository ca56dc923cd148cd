"""The events.add / add_batch handler: check each event, one compact event per task, aggregate."""

from __future__ import annotations

from collections import Counter

from tasktrack.domain import commands as cmd
from tasktrack.domain import metrics
from tasktrack.domain.errors import EmptyBatch, NoEventsAdded
from tasktrack.domain.events import metrics_reported
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork


def on_add_events(uow: UnitOfWork, c: cmd.AddEvents) -> Result:
    if not c.events:
        raise EmptyBatch("Batch is empty: no events to add")
    errors: Counter[str] = Counter()
    by_task: dict[str, list[metrics.Point]] = {}
    now = uow.now()
    now_ms = int(now.timestamp() * 1000)
    for raw in c.events:
        parsed = metrics.parse(raw, now_ms)
        if isinstance(parsed, str):
            errors[parsed] += 1
        else:
            by_task.setdefault(parsed.task, []).append(parsed)

    # Several tasks may report in one request: lock them all, in one order, before writing.
    uow.lock(by_task)
    uow.load(by_task)
    added = 0
    for task_id, points in by_task.items():
        refused = metrics.refusal(uow.states.get(task_id), uow.metadata.company)
        if refused is not None:
            errors[refused] += len(points)
            continue
        at = uow.now([task_id])
        uow.append(task_id, [metrics_reported(at, uow.metadata.user, points)], at)
        added += len(points)
    if not added:
        raise NoEventsAdded(
            "No events were added", errors=sum(errors.values()), errors_info=dict(errors)
        )
    uow.project()
    return {"added": added, "errors": sum(errors.values()), "errors_info": dict(errors)}
