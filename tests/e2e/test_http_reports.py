"""reports.* over HTTP: a report is a task of type report in a hidden .reports project; its
life is the task's log (status history, who did what), refusals change nothing, and another
company never reaches it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from tests.e2e.dbstate import log_head, stream_actions
from tests.e2e.http import Api


def test_a_report_lives_in_a_hidden_reports_project_and_its_life_is_in_the_log(
    new_caller: Callable[..., Api], e2e_engine: Engine
) -> None:
    api = new_caller(user="writer")
    project = api.ok("projects.create", {"name": "http reports", "description": ""})["id"]
    made = api.ok("reports.create", {"name": "Q3 report", "project": project, "tags": ["b", "a"]})
    report, home = made["id"], made["project_id"]
    task = api.ok("tasks.get_all_ex", {"id": [report]})["tasks"][0]
    assert (task["type"], sorted(task["system_tags"])) == ("report", ["hidden", "reports"])
    found = api.ok("projects.get_all_ex", {"id": [home]})["projects"][0]
    assert found["name"] == "http reports/.reports"
    assert sorted(found["system_tags"]) == ["hidden", "reports"]
    assert api.ok("reports.get_tags", {}) == {"tags": ["a", "b"]}

    answer = api.ok("reports.update", {"task": report, "report": "# hello", "report_assets": ["x"]})
    assert answer["updated"] == 1
    assert answer["fields"]["report"] == "# hello"
    search = {"_any_": {"pattern": "hello", "fields": ["name", "report"]}}
    assert [t["id"] for t in api.ok("reports.get_all_ex", search)["tasks"]] == [report]
    assert [t["id"] for t in api.ok("reports.get_all_ex", {"project": project})["tasks"]] == [
        report
    ]

    api.ok("reports.publish", {"task": report, "message": "final"})
    before = log_head(e2e_engine)
    # A published report's text is frozen (400/110); its name, tags and comment are not.
    assert api.error("reports.update", {"task": report, "report": "changed"})[:2] == (400, 110)
    assert log_head(e2e_engine) == before
    api.ok("reports.update", {"task": report, "name": "Q3 final"})
    history = api.ok("tasks.get_status_history", {"task": report})["history"]
    assert [(h["to_status"], h["user"]) for h in history][-1] == ("published", "writer")

    # Moved to the top level: the emptied .reports project goes, and the log says who did it.
    assert api.ok("reports.move", {"task": report, "project": None})["project_id"] != home
    assert api.ok("projects.get_all_ex", {"id": [home]})["projects"] == []
    assert stream_actions(e2e_engine, home)[-1] == ("ProjectDeleted", "writer")
    kinds = [kind for kind, _ in stream_actions(e2e_engine, report)]
    assert kinds[0] == "TaskCreated"
    assert {"TaskUpdated", "TaskPublished", "TaskMoved"} <= set(kinds)

    assert api.error("reports.delete", {"task": report})[:2] == (400, 123)
    assert api.ok("reports.delete", {"task": report, "force": True}) == {"deleted": 1}
    assert stream_actions(e2e_engine, report)[-1] == ("TaskDeleted", "writer")


def test_reports_refuse_plain_tasks_and_strangers(
    new_caller: Callable[..., Api], e2e_engine: Engine
) -> None:
    owner, stranger = new_caller(), new_caller(user="mallory")
    plain = owner.ok("tasks.create", {"name": "not a report", "type": "training"})["id"]
    report = owner.ok("reports.create", {"name": "mine"})["id"]
    before = log_head(e2e_engine)
    assert owner.error("reports.update", {"task": plain, "comment": "x"})[:2] == (400, 150)
    assert owner.error("reports.publish", {"task": plain})[:2] == (400, 150)
    assert owner.error("reports.move", {"task": report})[:2] == (400, 11)
    assert owner.error("reports.create", {"name": "no"})[:2] == (400, 12)
    assert stranger.error("reports.archive", {"task": report})[:2] == (400, 101)
    assert stranger.error("reports.delete", {"task": report, "force": True})[:2] == (400, 101)
    assert log_head(e2e_engine) == before
    assert stranger.ok("reports.get_all_ex", {})["tasks"] == []
    assert owner.ok("reports.archive", {"task": report}) == {"archived": 1}
    assert "archived" in owner.ok("tasks.get_all_ex", {"id": [report]})["tasks"][0]["system_tags"]
    assert owner.ok("reports.unarchive", {"task": report}) == {"unarchived": 1}


def test_task_data_reads_the_listed_tasks_reported_data(new_caller: Callable[..., Api]) -> None:
    api, stranger = new_caller(), new_caller(user="mallory")
    task = api.ok("tasks.create", {"name": "reported", "type": "training"})["id"]
    events = [
        {
            "task": task,
            "type": "training_stats_scalar",
            "iter": 1,
            "metric": "m",
            "variant": "v",
            "value": 2.0,
        },
        {"task": task, "type": "plot", "iter": 1, "metric": "p", "variant": "v", "plot_str": "{}"},
    ]
    # A single value is a scalar at ClearML's single-value iteration.
    events.append({**events[0], "iter": -(2**31), "value": 7.0})
    for event in events:
        api.ok("events.add", event)
    body = {
        "id": [task],
        "only_fields": ["name"],
        "plots": {"metrics": [{"metric": "p"}]},
        "scalar_metrics_iter_histogram": {},
        "single_value_metrics": {},
    }
    data = api.ok("reports.get_task_data", body)
    assert [t["id"] for t in data["tasks"]] == [task]
    assert list(data["plots"]["p"]["v"]) == [task]
    assert list(data["scalar_metrics_iter_histogram"]["m"]["v"]) == [task]
    assert data["single_value_metrics"][0]["task_name"] == "reported"
    assert "debug_images" not in data
    theirs = stranger.ok("reports.get_task_data", body)
    assert theirs["tasks"] == []
    assert theirs["plots"] == {}
