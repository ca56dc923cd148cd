"""pipelines.* and include_pipeline_steps over HTTP: a run is a clone of the controller,
enqueued, each step its own command in the log; the last run is never deleted."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from tests.e2e.dbstate import log_head, stream_actions
from tests.e2e.http import Api


def _controller(api: Api, name: str) -> tuple[str, str]:
    project = api.ok("projects.create", {"name": name, "description": ""})["id"]
    params = {"properties": {"version": {"section": "properties", "name": "version", "value": "1"}}}
    task = api.ok(
        "tasks.create",
        {
            "name": name,
            "type": "controller",
            "project": project,
            "system_tags": ["pipeline"],
            "hyperparams": params,
        },
    )["id"]
    return project, task


def test_a_run_is_an_enqueued_clone_with_its_args(
    new_caller: Callable[..., Api], e2e_engine: Engine
) -> None:
    api = new_caller(user="runner")
    project, task = _controller(api, "http pipe")
    queue = api.ok("queues.create", {"name": "pipes"})["id"]
    args = [{"name": "lr", "value": 0.5}]
    answer = api.ok("pipelines.start_pipeline", {"task": task, "queue": queue, "args": args})
    run = api.ok("tasks.get_all_ex", {"id": [answer["pipeline"]]})["tasks"][0]
    assert answer["enqueued"] is True
    assert (run["name"], run["status"], run["project"]["id"]) == ("http pipe #1", "queued", project)
    assert run["hyperparams"]["Args"]["lr"]["value"] == "0.5"
    assert "properties" in run["hyperparams"]
    assert [k for k, _ in stream_actions(e2e_engine, run["id"])][:1] == ["TaskCreated"]
    assert ("TaskEnqueued", "runner") in stream_actions(e2e_engine, run["id"])
    watched = api.ok(
        "pipelines.start_pipeline", {"task": task, "queue": queue, "verify_watched_queue": True}
    )
    assert watched["queue_watched"] is False
    assert api.error("pipelines.start_pipeline", {"task": "0" * 32})[:2] == (400, 101)
    before = log_head(e2e_engine)
    unknown = {"task": task, "queue": "0" * 32}
    assert api.error("pipelines.start_pipeline", unknown)[:2] == (400, 701)
    assert log_head(e2e_engine) == before  # refused: no clone left behind


def test_deleting_runs_keeps_one_and_takes_the_steps(api: Api) -> None:
    project, task = _controller(api, "http runs")
    queue = api.ok("queues.create", {"name": "runs"})["id"]
    run = api.ok("pipelines.start_pipeline", {"task": task, "queue": queue})["pipeline"]
    step = api.ok(
        "tasks.create", {"name": "a step", "type": "training", "project": project, "parent": run}
    )["id"]
    every = {"project": project, "ids": [task, run]}
    assert api.error("pipelines.delete_runs", every)[:2] == (400, 160)
    assert len(api.ok("tasks.get_all_ex", {"id": [task, run, step]})["tasks"]) == 3
    deleted = api.ok("pipelines.delete_runs", {"project": project, "ids": [run, step]})
    assert [s["id"] for s in deleted["succeeded"]] == [run]
    assert [t["id"] for t in api.ok("tasks.get_all_ex", {"id": [task, run, step]})["tasks"]] == [
        task
    ]


def test_include_pipeline_steps_reaches_the_controllers_children(api: Api) -> None:
    project, task = _controller(api, "http steps")
    steps = [
        api.ok(
            "tasks.create",
            {"name": f"step {i}", "type": "training", "project": project, "parent": task},
        )["id"]
        for i in range(2)
    ]
    listed = {"id": [task, *steps], "system_tags": ["-archived"]}
    api.ok("tasks.archive", {"tasks": [task]})
    assert len(api.ok("tasks.get_all_ex", listed)["tasks"]) == 2
    api.ok("tasks.unarchive_many", {"ids": [task]})
    api.ok("tasks.archive", {"tasks": [task], "include_pipeline_steps": True})
    assert api.ok("tasks.get_all_ex", listed)["tasks"] == []
    api.ok("tasks.unarchive_many", {"ids": [task], "include_pipeline_steps": True})
    assert len(api.ok("tasks.get_all_ex", listed)["tasks"]) == 3
    # A refused command on the controller touches none of its steps.
    api.ok("tasks.started", {"task": task})
    refused = {"task": task, "include_pipeline_steps": True}
    assert api.error("tasks.delete", refused)[:2] == (400, 123)
    assert len(api.ok("tasks.get_all_ex", listed)["tasks"]) == 3
    api.ok("tasks.delete", {"task": task, "force": True, "include_pipeline_steps": True})
    assert api.ok("tasks.get_all_ex", {"id": [task, *steps]})["tasks"] == []
