"""Nested projects over HTTP: create, update, move, merge, delete, tags, parents, users."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.http import Api


def _project(api: Api, name: str) -> str:
    return str(api.ok("projects.create", {"name": name})["id"])


def test_the_project_tree_over_http(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    status, envelope = api.call("projects.create", {"name": "/"})
    assert (status, envelope["meta"]["result_subcode"]) == (400, 407)
    pr1 = _project(api, "Root1/Pr1")
    child = _project(api, "Root1/Pr1/Pr2")
    root = api.ok("projects.get_all_ex", {"id": [pr1]})["projects"][0]["parent"]
    assert root["name"] == "Root1"
    status, envelope = api.call("projects.update", {"project": pr1, "name": "Root2/Pr1"})
    assert (status, envelope["meta"]["result_subcode"]) == (400, 408)
    api.ok("projects.update", {"project": pr1, "name": "Root1/Px"})
    assert api.ok("projects.get_by_id", {"project": child})["project"]["name"] == "Root1/Px/Pr2"
    assert api.ok("projects.move", {"project": pr1, "new_location": "Root2"})["moved"] == 2
    assert api.ok("projects.get_by_id", {"project": child})["project"]["name"] == "Root2/Px/Pr2"
    task = api.ok(
        "tasks.create", {"name": "tagged", "type": "training", "project": child, "tags": ["t1"]}
    )["id"]
    api.ok("tasks.create", {"name": "kid", "type": "training", "project": child, "parent": task})
    assert api.ok("projects.get_task_tags", {"projects": [pr1]})["tags"] == ["t1"]
    parents = api.ok("projects.get_task_parents", {"projects": [pr1]})["parents"]
    assert [p["id"] for p in parents] == [task]
    stats = api.ok("projects.get_all_ex", {"id": [pr1], "include_stats": True})["projects"][0]
    assert stats["stats"]["active"]["total_tasks"] == 2
    assert api.ok("projects.validate_delete", {"project": pr1})["non_archived_tasks"] == 2
    status, envelope = api.call("projects.delete", {"project": pr1})
    assert (status, envelope["meta"]["result_subcode"]) == (400, 402)
    done = api.ok("projects.delete", {"project": pr1, "force": True})
    assert (done["deleted"], done["disassociated_tasks"]) == (2, 2)
    assert "project" not in api.ok("tasks.get_by_id", {"task": task})["task"]


def test_public_projects_are_read_only_and_users_come_from_credentials(
    new_caller: Callable[..., Api],
) -> None:
    api = new_caller()
    p = _project(api, "Public one")
    status, _ = api.call("projects.make_private", {"ids": [p]})
    assert status == 400
    assert api.ok("projects.make_public", {"ids": [p]})["updated"] == 1
    status, envelope = api.call("projects.update", {"project": p, "name": "Renamed"})
    assert (status, envelope["meta"]["result_subcode"]) == (403, 21)
    api.ok("projects.make_private", {"ids": [p]})
    api.ok("projects.update", {"project": p, "name": "Renamed"})
    me = api.ok("users.get_current_user", {})["user"]
    assert me["company"]["id"]
    assert me["id"]
    assert [u["id"] for u in api.ok("users.get_all", {})["users"]] == [me["id"]]
    assert api.ok("server.info", {})["api_version"]


def test_a_bad_task_name_pattern_is_a_bad_filter(new_caller: Callable[..., Api]) -> None:
    status, envelope = new_caller().call("projects.get_task_parents", {"task_name": "("})
    assert (status, envelope["meta"]["result_subcode"]) == (400, 16)


def test_parameter_values_metrics_and_model_tags_over_http(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    project = _project(api, "sweep")
    for i in range(3):
        hyperparams = {"General": {"lr": {"section": "General", "name": "lr", "value": str(i)}}}
        task = api.ok(
            "tasks.create",
            {
                "name": f"trial {i}",
                "type": "training",
                "project": project,
                "hyperparams": hyperparams,
            },
        )["id"]
    api.ok("tasks.started", {"task": task})
    api.ok(
        "events.add",
        {
            "task": task,
            "type": "training_stats_scalar",
            "metric": "loss",
            "variant": "val",
            "value": 1.0,
            "iter": 1,
        },
    )
    values = api.ok(
        "projects.get_hyperparam_values",
        {"projects": [project], "section": "General", "name": "lr"},
    )
    assert values == {"total": 3, "values": ["0", "1", "2"]}
    names = api.ok("projects.get_hyper_parameters", {"project": project})
    assert names == {
        "total": 1,
        "remaining": 0,
        "parameters": [{"section": "General", "name": "lr"}],
    }
    metrics = api.ok("projects.get_unique_metric_variants", {"project": project})["metrics"]
    assert [(m["metric"], m["variant"]) for m in metrics] == [("loss", "val")]
    status, envelope = api.call(
        "projects.get_hyperparam_values",
        {"projects": [project], "section": "General", "name": "lr", "pattern": "("},
    )
    assert (status, envelope["meta"]["result_subcode"]) == (400, 16)
    status, envelope = api.call("projects.get_hyperparam_values", {"projects": [project]})
    assert (status, envelope["meta"]["result_subcode"]) == (400, 12)  # section and name needed
    api.ok("models.create", {"name": "m", "uri": "file:///m", "project": project, "tags": ["x"]})
    assert api.ok("projects.get_model_tags", {"projects": [project]})["tags"] == ["x"]


def test_projects_get_all_ex_scrolls_under_one_id(api: Api, new_caller: Callable[..., Api]) -> None:
    # The projects page's request: the top level, 16 at a time, with a scroll.
    names = [f"paged {i:02d}" for i in range(5)]
    for name in reversed(names):
        api.ok("projects.create", {"name": name, "description": "d"})
    body = {"shallow_search": True, "size": 2, "only_fields": ["name"], "name": "^paged "}
    first = api.ok("projects.get_all_ex", {**body, "scroll_id": None})
    scroll = first["scroll_id"]
    seen = [p["name"] for p in first["projects"]]
    for expected in (2, 1, 0):
        data = api.ok("projects.get_all_ex", {**body, "scroll_id": scroll})
        assert len(data["projects"]) == expected
        assert data["scroll_id"] == scroll
        seen += [p["name"] for p in data["projects"]]
    assert seen == names
    refreshed = api.ok("projects.get_all_ex", {**body, "scroll_id": scroll, "refresh_scroll": True})
    assert [p["name"] for p in refreshed["projects"]] == names
    assert refreshed["scroll_id"] == scroll
    # An unknown id starts over under a new id; another company's caller gets a scroll of its
    # own over its own projects (none), and mine does not move.
    again = api.ok("projects.get_all_ex", {**body, "scroll_id": "no such scroll"})
    assert [p["name"] for p in again["projects"]] == names[:2]
    assert again["scroll_id"] not in (scroll, "no such scroll")
    theirs = new_caller().ok("projects.get_all_ex", {**body, "scroll_id": again["scroll_id"]})
    assert theirs["projects"] == []
    assert theirs["scroll_id"] != again["scroll_id"]
    nexts = api.ok("projects.get_all_ex", {**body, "scroll_id": again["scroll_id"]})
    assert [p["name"] for p in nexts["projects"]] == names[2:4]
    assert api.error("projects.get_all_ex", {"scroll_id": scroll})[:2] == (400, 12)
    # No scroll asked: no scroll answered.
    assert "scroll_id" not in api.ok("projects.get_all_ex", {"name": "^paged "})


def test_projects_are_listed_in_the_order_asked(new_caller: Callable[..., Api]) -> None:
    """ClearML's `order_by` (the web UI's projects page asks `featured, -last_update`): the most
    recently updated first; `featured` (ClearML's example projects) changes nothing here; an
    unknown key is refused."""
    api = new_caller()
    ids = {name: _project(api, name) for name in ("alpha", "beta", "gamma")}
    api.ok("projects.update", {"project": ids["alpha"], "description": "touched last"})

    def listed(order_by: list[str]) -> list[str]:
        found = api.ok("projects.get_all_ex", {"order_by": order_by, "only_fields": ["name"]})
        return [p["name"] for p in found["projects"]]

    assert listed(["featured", "-last_update"]) == ["alpha", "gamma", "beta"]
    assert listed(["last_update"]) == ["beta", "gamma", "alpha"]
    assert listed(["-name"]) == ["gamma", "beta", "alpha"]
    by_name = ["alpha", "beta", "gamma"]
    assert listed(["featured"]) == listed(["@text_score"]) == listed([]) == by_name
    status, envelope = api.call("projects.get_all_ex", {"order_by": ["-color"]})
    assert (status, envelope["meta"]["result_code"]) == (400, 400)
    assert "color" in envelope["meta"]["result_msg"]
