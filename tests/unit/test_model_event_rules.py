"""Events reported against a model (domain/reports.py, domain/models.py) and projects.delete
with delete_contents (domain/project_cleanup.py): the pure rules."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from msgspec import structs

from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain import model_rules, project_cleanup, reports
from tasktrack.domain.metrics import Point
from tasktrack.domain.models import ModelState, evolve, fold, stream_of
from tasktrack.domain.reports import RawEvent
from tasktrack.domain.values import Artifact, Execution, ModelItem, TaskModels
from tests.unit.domain_builders import COMPANY, T1, TASK_ID, ctx, new_task

MODEL = "m" * 32


def _model(*, ready: bool = False, task: str | None = None, uri: str = "file:///w") -> ModelState:
    c = msgspec.convert(
        {"name": "weights", "uri": uri, "ready": ready, "task": task}, mc.CreateModel
    )
    state = fold(model_rules.create(c, ctx(), MODEL))
    assert state is not None
    return state


def _point(it: int | None, value: float) -> Point:
    return Point(task=MODEL, metric="m", variant="v", iter=it, value=value, timestamp=1)


def test_a_model_event_names_its_model_and_takes_no_console_log() -> None:
    assert reports.is_model_event({"model_event": True})
    assert not reports.is_model_event({"model_event": 1})
    assert not reports.is_model_event({"task": "t"})
    assert reports.as_model_event({"type": "log", "model_event": True}) == (
        "Task log events are not supported for models"
    )
    sent = {"type": "plot", "model": MODEL, "task": "other", "model_event": True}
    assert reports.as_model_event(sent) == {"type": "plot", "task": MODEL, "model_event": True}


def test_only_the_companys_models_not_ready_unless_allow_locked_take_events() -> None:
    draft, ready = _model(), _model(ready=True)
    assert reports.model_refusal(draft, COMPANY, allow_locked=False) is None
    assert reports.model_refusal(ready, COMPANY, allow_locked=False) == "Invalid model id"
    assert reports.model_refusal(ready, COMPANY, allow_locked=True) is None
    assert reports.model_refusal(draft, "other company", allow_locked=True) == "Invalid model id"
    assert reports.model_refusal(None, COMPANY, allow_locked=False) == "Invalid model id"


def test_a_models_reports_raise_its_last_iteration_and_touch_it() -> None:
    state = _model()
    at = T1 + timedelta(minutes=5)
    scalars = reports.model_metrics_reported(at, "bob", [_point(4, 1.0), _point(None, 2.0)])
    assert scalars.iters == [4, None]
    after = evolve(state, scalars)
    assert (after.last_iteration, after.last_update, after.last_changed_by) == (4, at, "bob")
    raws = [RawEvent(task=MODEL, type="plot", body={"iter": 2}, iter=2)]
    received, stored = reports.model_events_reported(at, "bob", raws)
    assert (received.count, received.last_iteration) == (1, 2)
    assert stored.events == [{"iter": 2}]
    # Never lowered; the payload event changes nothing.
    assert evolve(evolve(after, received), stored).last_iteration == 4
    assert evolve(state, stored) == state


def test_delete_contents_deletes_tasks_and_models_and_mends_what_is_outside() -> None:
    inside = structs.replace(
        new_task(),
        execution=Execution(
            artifacts=[
                Artifact(key="a", type="str", uri="out", mode="output"),
                Artifact(key="b", type="str", uri="in", mode="input"),
            ]
        ),
    )
    user = structs.replace(
        new_task(),
        id="u" * 32,
        parent=TASK_ID,
        models=TaskModels(input=[ModelItem(name="in", model=MODEL)]),
    )
    model = _model(task=TASK_ID)
    answer, writes = project_cleanup.delete_contents(ctx(), [inside], [model], {user.id: user})
    assert answer == {
        "deleted_tasks": 1,
        "deleted_models": 1,
        "urls": {"model_urls": ["file:///w"], "event_urls": [], "artifact_urls": ["out"]},
    }
    kinds = {stream: [type(e) for e in events] for stream, events in writes}
    assert kinds == {
        stream_of(MODEL): [ev.ModelDeleted],
        user.id: [ev.TaskInputModelDeleted, ev.TaskParentDeleted],
        TASK_ID: [ev.TaskDeleted],
    }
