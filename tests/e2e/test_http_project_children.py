"""projects.get_all_ex by children_type (report, pipeline, dataset) and children tags over
HTTP: only the projects holding such children are listed, and their statistics and own
contents count only those children; hidden tasks count only when asked for."""

from __future__ import annotations

from typing import Any

from tests.e2e.http import Api


def _listing(api: Api, root: str, **extra: Any) -> dict[str, dict[str, Any]]:
    body = {
        "parent": [root],
        "shallow_search": True,
        "include_stats": True,
        "check_own_contents": True,
        **extra,
    }
    return {p["basename"]: p for p in api.ok("projects.get_all_ex", body)["projects"]}


def test_children_type_selects_projects_and_what_their_statistics_count(api: Api) -> None:
    root = api.ok("projects.create", {"name": "kids", "description": ""})["id"]

    def project(name: str, **extra: Any) -> str:
        body = {"name": f"kids/{name}", "description": "", **extra}
        return str(api.ok("projects.create", body)["id"])

    data = project("P1/Data", system_tags=["dataset"], tags=["x", "y"])
    pipe = project("P2/Pipe", system_tags=["pipeline"])
    plain = project("P3")
    task = {"name": "plain task", "type": "training"}
    api.ok("tasks.create", {**task, "project": data})
    api.ok("tasks.create", {**task, "project": pipe})
    api.ok(
        "tasks.create",
        {**task, "name": "ctl", "type": "controller", "project": pipe, "system_tags": ["pipeline"]},
    )
    api.ok("tasks.create", {**task, "project": plain})
    api.ok("reports.create", {"name": "rep one", "project": plain, "tags": ["t1"]})

    every = _listing(api, root, check_own_contents=False)
    # The hidden report counts only when hidden tasks are asked for.
    assert every["P3"]["stats"]["active"]["total_tasks"] == 1
    hidden = _listing(api, root, check_own_contents=False, search_hidden=True)
    assert hidden["P3"]["stats"]["active"]["total_tasks"] == 2

    reports = _listing(api, root, children_type="report")
    assert set(reports) == {"P3"}
    assert reports["P3"]["stats"]["active"]["total_tasks"] == 1
    assert reports["P3"]["own_tasks"] == 0  # the report is in P3/.reports
    assert _listing(api, root, children_type="report", children_tags=["t2"]) == {}
    tagged = _listing(
        api, root, children_type="report", children_tags_filter={"any": {"include": ["t1"]}}
    )
    assert set(tagged) == {"P3"}

    pipelines = _listing(api, root, children_type="pipeline")
    assert set(pipelines) == {"P2"}
    assert pipelines["P2"]["stats"]["active"]["total_tasks"] == 1  # the controller only

    datasets = _listing(api, root, children_type="dataset")
    assert set(datasets) == {"P1"}
    assert datasets["P1"]["own_datasets"] == 1
    assert "own_tasks" not in datasets["P1"]
    assert datasets["P1"]["stats"]["datasets"] == {"count": 1, "tags": ["x", "y"]}
