"""tasks.get_all_ex and the parameter lists over HTTP, as ClearML's web UI and SDK drive them:
scroll_id paging, project references, ClearML's answer shapes, and refusals that change
nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.e2e.http import Api


def _task(api: Api, name: str, **fields: Any) -> str:
    return str(api.ok("tasks.create", {"name": name, "type": "training", **fields})["id"])


def test_scroll_pages_through_and_refresh_brings_everything(api: Api) -> None:
    def param(i: int) -> dict[str, Any]:
        return {"t": {"p": {"section": "t", "name": "p", "value": str(i)}}}

    tasks = [_task(api, f"scroll {i}", hyperparams=param(i)) for i in range(7)]
    body = {"id": tasks, "order_by": ["hyperparams.t.p.value"], "size": 3}
    seen: list[str] = []
    first = api.ok("tasks.get_all_ex", {**body, "scroll_id": None})
    scroll = first["scroll_id"]
    seen += [t["id"] for t in first["tasks"]]
    for expected in (3, 1, 0):
        data = api.ok("tasks.get_all_ex", {**body, "scroll_id": scroll})
        assert len(data["tasks"]) == expected
        seen += [t["id"] for t in data["tasks"]]
        # One id for the scroll's life, as ClearML's: its web UI takes a changed id for an
        # expired scroll and starts its table again.
        assert data["scroll_id"] == scroll
    assert seen == tasks
    refreshed = api.ok("tasks.get_all_ex", {**body, "scroll_id": scroll, "refresh_scroll": True})
    assert [t["id"] for t in refreshed["tasks"]] == tasks
    assert refreshed["scroll_id"] == scroll
    # After a refresh the scroll goes on from where the refresh got to (the end).
    assert api.ok("tasks.get_all_ex", {**body, "scroll_id": scroll})["tasks"] == []
    assert api.error("tasks.get_all_ex", {"scroll_id": scroll})[:2] == (400, 12)


def test_an_unknown_or_foreign_scroll_id_starts_a_new_scroll(
    api: Api, new_caller: Callable[..., Api]
) -> None:
    tasks = [_task(api, f"fresh scroll {i}") for i in range(3)]
    body = {"id": tasks, "order_by": ["name"], "size": 2}
    mine = api.ok("tasks.get_all_ex", {**body, "scroll_id": None})["scroll_id"]
    again = api.ok("tasks.get_all_ex", {**body, "scroll_id": "no such scroll"})
    assert [t["id"] for t in again["tasks"]] == tasks[:2]
    assert again["scroll_id"] not in (mine, "no such scroll")
    # Another company's caller presenting my scroll's id gets a scroll of its own, at 0.
    other = new_caller()
    theirs = other.ok("tasks.get_all_ex", {"size": 2, "scroll_id": mine})
    assert theirs["tasks"] == []
    assert theirs["scroll_id"] != mine
    # Mine was not moved by them: it goes on with the third task.
    assert [t["id"] for t in api.ok("tasks.get_all_ex", {**body, "scroll_id": mine})["tasks"]] == [
        tasks[2]
    ]


def test_project_references_and_clearml_shapes(api: Api) -> None:
    project = api.ok("projects.create", {"name": "refs project", "description": "d"})["id"]
    task = _task(api, "with project", project=project)
    api.ok("tasks.started", {"task": task})
    [got] = api.ok(
        "tasks.get_all_ex",
        {"id": [task], "only_fields": ["name", "project.name", "started", "runtime.version"]},
    )["tasks"]
    assert got["project"] == {"id": project, "name": "refs project"}
    assert got["runtime"] == {}
    assert got["started"].endswith("+00:00")
    assert datetime.fromisoformat(got["started"]).utcoffset() is not None
    full = api.ok("tasks.get_by_id", {"task": task})["task"]
    assert full["execution"]["artifacts"] == []
    assert full["created"].endswith("+00:00")


def test_filters_and_refusals(api: Api) -> None:
    tagged, bare = _task(api, "tagged", tags=["x"]), _task(api, "bare")
    both = [tagged, bare]

    def ids(**body: Any) -> set[str]:
        return {t["id"] for t in api.ok("tasks.get_all_ex", {"id": both, **body})["tasks"]}

    assert ids(filters={"tags": {"any": {"include": [None]}}}) == {bare}
    assert ids(filters={"tags": {"all": {"exclude": ["x"]}}}) == {bare}
    assert ids(_any_={"pattern": "^TAG", "fields": ["name", "comment"]}) == {tagged}
    assert ids(order_by=None) == set(both)
    assert api.error("tasks.get_all_ex", {"filters": {"tags": {"test": ["1"]}}})[:2] == (400, 12)
    assert api.error("tasks.archive", {"tasks": [tagged, "0" * 32]})[:2] == (400, 101)
    # nothing was archived by the refused call
    [still] = api.ok("tasks.get_all_ex", {"id": [tagged]})["tasks"]
    assert "archived" not in still["system_tags"]


def test_parameter_lists(api: Api) -> None:
    task = _task(
        api,
        "params",
        hyperparams={"properties": {"k": {"section": "properties", "name": "k", "value": "v"}}},
        configuration={"cfg": {"name": "cfg", "value": "x: 1", "type": "yaml"}},
    )
    params = api.ok("tasks.get_hyper_params", {"tasks": [task]})["params"]
    assert params == [
        {"task": task, "hyperparams": [{"section": "properties", "name": "k", "value": "v"}]}
    ]
    confs = api.ok("tasks.get_configurations", {"tasks": [task]})["configurations"]
    assert confs == [
        {"task": task, "configuration": [{"name": "cfg", "value": "x: 1", "type": "yaml"}]}
    ]
    names = api.ok("tasks.get_configuration_names", {"tasks": [task]})["configurations"]
    assert names == [{"task": task, "names": ["cfg"]}]
    assert api.error("tasks.get_hyper_params", {"tasks": ["0" * 32]})[:2] == (400, 101)


def test_the_queue_a_task_waits_in_answers_as_an_object(api: Api) -> None:
    """As ClearML's listing: `execution.queue` is `{id}`, and `execution.queue.name` in
    only_fields joins the queue (get_all_ex and get_by_id_ex alike)."""
    name = f"refs queue {time.time_ns()}"
    queue = api.ok("queues.create", {"name": name, "display_name": "Refs"})["id"]
    task = _task(api, "queued with refs")
    plain = _task(api, "never queued")
    api.ok("tasks.enqueue", {"task": task, "queue": queue})
    [got] = api.ok("tasks.get_all_ex", {"id": [task], "projection": ["*", "execution.*"]})["tasks"]
    assert got["execution"]["queue"] == {"id": queue}
    answered = api.ok(
        "tasks.get_by_id_ex",
        {
            "id": [task, plain],
            "only_fields": ["execution.queue.name", "execution.queue.display_name"],
        },
    )["tasks"]
    by_id = {t["id"]: t for t in answered}
    assert by_id[task]["execution"]["queue"] == {"id": queue, "name": name, "display_name": "Refs"}
    assert "queue" not in by_id[plain].get("execution", {})


def test_null_list_filters_are_no_filter_in_the_uis_listing(api: Api) -> None:
    # ClearML's web UI asks its dashboard's recent tasks with `"user": null` ("everyone's").
    tagged, bare = _task(api, "null tagged", tags=["x"]), _task(api, "null bare")
    body = {"id": [tagged, bare], "user": None, "tags": None, "project": None}
    found = {t["id"] for t in api.ok("tasks.get_all_ex", body)["tasks"]}
    assert found == {tagged, bare}
    company = api.ok("users.get_current_user")["user"]["company"]
    [shaped] = api.ok("tasks.get_all_ex", {"id": [bare], "only_fields": ["company", "user.name"]})[
        "tasks"
    ]
    assert shaped["company"] == company
    assert shaped["user"] == {"id": "alice", "name": "alice"}
    # tasks.get_all keeps SEMANTICS' reading: null is "missing or empty".
    assert api.ok("tasks.get_all", {"id": [tagged, bare], "tags": None})["tasks"] == [
        {**t, "id": bare} for t in api.ok("tasks.get_all", {"id": [bare]})["tasks"]
    ]
