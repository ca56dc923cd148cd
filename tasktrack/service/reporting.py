"""The events.add / add_batch handler: check each event, one compact event per task and kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import metrics, reports
from tasktrack.domain.errors import EmptyBatch, InvalidRequest, NoEventsAdded
from tasktrack.domain.models import stream_of
from tasktrack.domain.reports import LogLine, RawEvent, classify
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import modelrows


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
    by_model: dict[str, _Batch] = {}
    allow_locked: dict[str, bool] = {}
    now_ms = int(uow.now().timestamp() * 1000)
    for sent in c.events:
        into, raw = by_task, sent
        if reports.is_model_event(sent):
            raw = reports.as_model_event(sent)
            if isinstance(raw, str):
                errors[raw] += 1
                continue
            into = by_model
        accepted = classify(raw, now_ms)
        if isinstance(accepted, str):
            errors[accepted] += 1
            continue
        if into is by_model:
            allow_locked[accepted.task] = allow_locked.get(accepted.task, False) or (
                raw.get("allow_locked") is True
            )
        batch = into.setdefault(accepted.task, _Batch())
        if isinstance(accepted, metrics.Point):
            batch.points.append(accepted)
        elif isinstance(accepted, LogLine):
            batch.lines.append(accepted)
        else:
            batch.raws.append(accepted)
    if set(by_task) & set(by_model):
        raise InvalidRequest("Inconsistent model_event setting in the passed events")

    # Several tasks and models may report in one request: lock them all, in one order, first.
    uow.lock([*by_task, *(stream_of(m) for m in by_model)])
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
    added += _to_models(uow, by_model, allow_locked, errors)
    if not added:
        raise NoEventsAdded(
            "No events were added", errors=sum(errors.values()), errors_info=dict(errors)
        )
    uow.project()
    return {"added": added, "errors": sum(errors.values()), "errors_info": dict(errors)}


def _to_models(
    uow: UnitOfWork,
    by_model: dict[str, _Batch],
    allow_locked: dict[str, bool],
    errors: Counter[str],
) -> int:
    """Append each locked model's accepted events to its stream; how many were added."""
    company, user = uow.metadata.company, uow.metadata.user
    rows = modelrows.load(uow.conn, company, by_model)
    added = 0
    for model_id, batch in by_model.items():
        row = rows.get(model_id)
        state = row.state if row is not None else None
        refused = reports.model_refusal(state, company, allow_locked.get(model_id, False))
        if refused is not None or row is None:
            errors[f"{refused} {model_id}"] += len(batch)
            continue
        stream = stream_of(model_id)
        uow.heads[stream] = row.head
        uow.head_times[stream] = row.head_at
        at = uow.now([stream])
        events: list[ev.AnyEvent] = []
        if batch.points:
            events.append(reports.model_metrics_reported(at, user, batch.points))
        if batch.raws:
            events.extend(reports.model_events_reported(at, user, batch.raws))
        uow.append(stream, events, at)
        added += len(batch)
    return added
