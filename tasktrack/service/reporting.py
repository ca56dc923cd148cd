"""The events.add / add_batch handler: check each event, one compact event per task and kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import metrics, reports
from tasktrack.domain.errors import EmptyBatch, NoEventsAdded
from tasktrack.domain.reports import LogLine, RawEvent, classify
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork


@dataclass
class _Batch:
    points: list[metrics.Point] = field(default_factory=list)
    lines: list[LogLine] = field(default_factory=list)
    raws: list[RawEvent] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.points) + len(self.lines) + len(self.raws)


def on_add_events(uow: UnitOfWork, c: cmd.AddEvents) -> Result:
    if not c.events:
        raise EmptyBatch("Batch is empty: no events to add")
    errors: Counter[str] = Counter()
    by_task: dict[str, _Batch] = {}
    now_ms = int(uow.now().timestamp() * 1000)
    for raw in c.events:
        accepted = classify(raw, now_ms)
        if isinstance(accepted, str):
            errors[accepted] += 1
            continue
        batch = by_task.setdefault(accepted.task, _Batch())
        if isinstance(accepted, metrics.Point):
            batch.points.append(accepted)
        elif isinstance(accepted, LogLine):
            batch.lines.append(accepted)
        else:
            batch.raws.append(accepted)

    # Several tasks may report in one request: lock them all, in one order, before writing.
    uow.lock(by_task)
    uow.load(by_task)
    added = 0
    user = uow.metadata.user
    for task_id, batch in by_task.items():
        refused = reports.refusal(uow.states.get(task_id), uow.metadata.company)
        if refused is not None:
            errors[refused] += len(batch)
            continue
        at = uow.now([task_id])
        events: list[ev.AnyEvent] = []
        if batch.points:
            events.append(reports.metrics_reported(at, user, batch.points))
        if batch.lines:
            events.append(reports.task_logged(at, user, batch.lines))
        if batch.raws:
            events.extend(reports.events_reported(at, user, batch.raws))
        uow.append(task_id, events, at)
        added += len(batch)
    if not added:
        raise NoEventsAdded(
            "No events were added", errors=sum(errors.values()), errors_info=dict(errors)
        )
    uow.project()
    return {"added": added, "errors": sum(errors.values()), "errors_info": dict(errors)}
