"""Events reported against a model (`model_event: true`) through the service: the model's
stream, its last_iteration and last_metrics, the readers with `model_events`, its deletion,
and projects.delete with delete_contents (the replay fixture checks every read model after)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain import events as ev
from tasktrack.domain.errors import InvalidRequest, NoEventsAdded, TaskNotFound
from tasktrack.domain.model_errors import ModelNotFound
from tasktrack.domain.models import stream_of
from tasktrack.queries.reported import IMAGE, PLOT
from tasktrack.store import eventlog
from tasktrack.store.engine import raw


def _model(client: Client, **kw: Any) -> str:
    return str(client.create_model(name="model events", uri="file:///m", ready=False, **kw)["id"])


def _event(model: str, kind: str, it: int, **more: Any) -> dict[str, Any]:
    return {
        "task": model,
        "type": kind,
        "iter": it,
        "metric": "M",
        "variant": "V",
        "timestamp": 1_000 + it,
        "model_event": True,
        **more,
    }


def _scalar(model: str, it: int, value: float, metric: str = "M") -> dict[str, Any]:
    return _event(model, "training_stats_scalar", it, value=value, metric=metric)


def test_scalars_of_a_model_are_on_its_stream_and_read_with_model_events(
    client: Client, engine: Engine
) -> None:
    model = _model(client)
    added = client.add_events(
        [_scalar(model, 0, 5.0), _scalar(model, 3, 2.0, "N"), _scalar(model, 1, 7.0)]
    )
    assert added == {"added": 3, "errors": 0, "errors_info": {}}
    series = client.get_scalar_series(model, models=True)
    assert (series["M"]["V"].x, series["M"]["V"].y) == ([0, 1], [5.0, 7.0])
    assert series["N"]["V"].x == [3]
    view = client.get_model(model)
    assert view.last_iteration == 3
    by_name = {e.metric: e for m in view.last_metrics.values() for e in m.values()}
    assert (by_name["M"].value, by_name["M"].min_value, by_name["M"].max_value) == (7, 5, 7)
    assert client.get_multi_task_metrics([model], "training_stats_scalar", models=True) == {
        "M": ["V"],
        "N": ["V"],
    }
    # Not a task: the task readers do not know it, and no task read model row names it.
    with pytest.raises(TaskNotFound):
        client.get_scalar_series(model)
    with engine.connect() as sa_conn:
        history = eventlog.read_stream(raw(sa_conn), stream_of(model))
        sa_conn.rollback()
    assert type(history[-1].event) is ev.ModelMetricsReported


def test_plots_and_images_of_a_model_are_readable(client: Client, engine: Engine) -> None:
    model = _model(client)
    client.add_events(
        [
            _event(model, PLOT, 2, plot_str='{"data": []}'),
            _event(model, IMAGE, 4, url="http://img/4.png"),
        ]
    )
    plots = client.get_task_plots(model, models=True)["plots"]
    assert [(p["iter"], p["plot_str"]) for p in plots] == [(2, '{"data": []}')]
    images = client.get_metric_events(IMAGE, [{"task": model}], models=True)
    assert [e["url"] for e in images["metrics"][0]["iterations"][0]["events"]] == [
        "http://img/4.png"
    ]
    assert client.get_model(model).last_iteration == 4
    # The payloads are a stub wherever the model is folded without them.
    with engine.connect() as sa_conn:
        stubbed = eventlog.read_stream(raw(sa_conn), stream_of(model), payloads=False)
        sa_conn.rollback()
    stored = [r.event for r in stubbed if isinstance(r.event, ev.ModelEventsStored)]
    assert stored
    assert stored[0].events == []
    with pytest.raises(ModelNotFound):
        client.get_task_plots("0" * 32, models=True)


def test_models_take_no_log_and_must_be_the_companys_and_not_ready(client: Client) -> None:
    model = _model(client)
    ready = _model(client)
    client.set_model_ready(model=ready)
    log = _event(model, "log", 0, msg="hello")
    with pytest.raises(NoEventsAdded) as refused:
        client.add_events([log, _scalar(ready, 0, 1.0), _scalar("f" * 32, 0, 1.0)])
    assert refused.value.data["errors_info"] == {
        "Task log events are not supported for models": 1,
        f"Invalid model id {ready}": 1,
        f"Invalid model id {'f' * 32}": 1,
    }
    # allow_locked lets a ready model take them, as ClearML.
    assert client.add_events([_scalar(ready, 0, 1.0) | {"allow_locked": True}])["added"] == 1
    # One id is a task or a model in one request, not both.
    with pytest.raises(InvalidRequest):
        client.add_events([_scalar(model, 0, 1.0), _scalar(model, 0, 1.0) | {"model_event": 0}])
    assert client.get_model(model).last_iteration is None  # nothing was written


def test_deleting_a_model_drops_its_event_rows(client: Client) -> None:
    model = _model(client)
    client.add_events([_scalar(model, 0, 1.0), _event(model, PLOT, 0, plot_str="{}")])
    assert client.delete_model(model=model) == {"deleted": True, "url": "file:///m"}
    with pytest.raises(ModelNotFound):
        client.get_scalar_series(model, models=True)


def test_project_delete_with_contents_deletes_its_tasks_and_models(client: Client) -> None:
    project = str(client.create_project(name="doomed", description="")["id"])
    task = str(client.create(name="trainer", type="training", project=project)["id"])
    client.add_or_update_artifacts(
        task=task, artifacts=[{"key": "a", "type": "str", "uri": "out1"}]
    )
    other = str(client.create(name="user", type="training")["id"])
    model = _model(client, project=project)
    client.edit_model(model=model, task=task)
    client.edit(task=other, models={"input": [{"name": "in", "model": model}]})
    client.add_events([_scalar(model, 0, 1.0)])
    answer = client.delete_project(project=project, force=True, delete_contents=True)
    assert answer["deleted_tasks"] == 1
    assert answer["deleted_models"] == 1
    assert answer["disassociated_tasks"] == 0
    assert answer["urls"] == {
        "model_urls": ["file:///m"],
        "event_urls": [],
        "artifact_urls": ["out1"],
    }
    with pytest.raises(TaskNotFound):
        client.get_by_id(task)
    with pytest.raises(ModelNotFound):
        client.get_model(model)
    inputs = client.get_by_id(other).models.input  # type: ignore[union-attr]
    assert [m.model for m in inputs] == [f"__DELETED__{model}"]
