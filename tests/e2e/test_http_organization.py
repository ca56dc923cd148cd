"""The organization service over HTTP: tags, entity counts, the company's users, usages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.e2e.http import Api


def _task(api: Api, name: str, **more: object) -> str:
    return str(api.ok("tasks.create", {"name": name, "type": "training", **more})["id"])


def test_organization_tags_merge_tasks_and_models_and_filter(
    new_caller: Callable[..., Api],
) -> None:
    api = new_caller()
    task = _task(api, "tagged", tags=["t-task"], system_tags=["sys-a"])
    _task(api, "other", tags=["t-other"])
    api.ok("models.create", {"name": "m", "uri": "file:///m", "tags": ["t-model"]})
    assert api.ok("organization.get_tags", {}) == {"tags": ["t-model", "t-other", "t-task"]}
    both = api.ok("organization.get_tags", {"include_system": True})
    assert both["system_tags"] == ["sys-a"]
    not_a = api.ok("organization.get_tags", {"filter": {"system_tags": ["__$not", "sys-a"]}})
    assert not_a["tags"] == ["t-model", "t-other"]
    api.ok("tasks.delete", {"task": task, "force": True})
    assert "t-task" not in api.ok("organization.get_tags", {})["tags"]
    # Another company sees none of these.
    assert new_caller().ok("organization.get_tags", {"include_system": True}) == {
        "tags": [],
        "system_tags": [],
    }


def test_entities_count_per_kind_with_its_own_filter(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    ds = api.ok("projects.create", {"name": "Data", "system_tags": ["dataset"]})["id"]
    plain = api.ok("projects.create", {"name": "Plain"})["id"]
    _task(api, "first", project=plain)
    _task(api, "second", project=plain, tags=["x"])
    _task(api, "version", project=ds, type="data_processing")
    body = {
        "datasets": {"system_tags": ["dataset"]},
        "projects": {},
        "tasks": {"tags": ["x"]},
        "models": {},
        "dataset_versions": {"project": [ds]},
        "allow_public": False,
    }
    counts = api.ok("organization.get_entities_count", body)
    assert counts == {
        "projects": 2,
        "tasks": 1,
        "models": 0,
        "datasets": 1,
        "dataset_versions": 1,
    }
    me = api.ok("users.get_current_user", {})["user"]["id"]
    empty = api.ok("projects.create", {"name": "Empty"})["id"]
    active = {"projects": {"id": [plain, empty]}, "active_users": [me]}
    assert api.ok("organization.get_entities_count", active) == {"projects": 1}
    assert api.ok("organization.get_entities_count", {"tasks": {}, "limit": 2}) == {"tasks": 2}
    assert api.ok("organization.get_entities_count", {"tasks": {}, "limit": 0}) == {"tasks": 3}
    status, _, _ = api.error("organization.get_entities_count", {"tasks": {}, "limit": -1})
    assert status == 400
    bad = api.ok("organization.get_entities_count", {"projects": {"id": 5}})
    assert set(bad["errors"]) == {"projects"}
    # A count is of everything the filter matches: the filter's own paging does not cut it.
    paged = {"tasks": {"page": 3, "page_size": 1}, "projects": {"page": 2, "page_size": 1}}
    assert api.ok("organization.get_entities_count", paged) == {"tasks": 3, "projects": 3}
    # A pattern PostgreSQL cannot compile is the caller's error, per kind, not a 500.
    broken = {kind: {"name": "(["} for kind in ("tasks", "projects", "models")}
    answer = api.ok("organization.get_entities_count", broken)
    assert set(answer["errors"]) == {"tasks", "projects", "models"}


def test_user_companies_names_the_caller_and_its_users(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    me = api.ok("users.get_current_user", {})["user"]
    companies = api.ok("organization.get_user_companies", {})["companies"]
    assert len(companies) == 1
    company = companies[0]
    assert company["id"] == me["company"]["id"]
    assert company["allocated"] == len(company["owners"]) == 1
    assert company["owners"] == [{"id": me["id"], "name": me["name"], "avatar": None}]


def test_project_usages_break_running_time_down(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    root = api.ok("projects.create", {"name": "Usage"})["id"]
    child = api.ok("projects.create", {"name": "Usage/Child"})["id"]
    dev = _task(api, "dev", project=child, system_tags=["development"])
    api.ok("tasks.started", {"task": dev})
    api.ok("tasks.stopped", {"task": dev})
    _task(api, "never ran", project=root)
    now = datetime.now(UTC)
    window = {
        "projects": [root],
        "from_date": (now - timedelta(days=2)).isoformat(),
        "to_date": now.isoformat(),
    }
    without = api.ok("organization.get_project_usages", window)
    assert without == {k: {"total": [], "series": []} for k in ("projects", "queues", "users")}
    found = api.ok("organization.get_project_usages", {**window, "include_development": True})
    [total] = found["projects"]["total"]
    assert (total["id"], total["name"]) == (child, "Usage/Child")
    assert total["duration"] >= 0
    assert total["gpu_artificial_weights"] is True
    [series] = found["projects"]["series"]
    assert len(series["dates"]) == len(series["duration"]) == 3
    assert found["queues"]["total"][0]["name"] == "other"
    assert [u["id"] for u in found["users"]["total"]] == [
        api.ok("users.get_current_user", {})["user"]["id"]
    ]
    late = {**window, "from_date": window["to_date"], "to_date": window["from_date"]}
    status, envelope = api.call("organization.get_project_usages", late)
    assert (status, envelope["meta"]["result_subcode"]) == (400, 12)


def test_dataset_stats_come_from_the_latest_task_runtime(new_caller: Callable[..., Api]) -> None:
    api = new_caller()
    ds = api.ok("projects.create", {"name": "Stats", "system_tags": ["dataset"]})["id"]
    ask = {"id": [ds], "include_dataset_stats": True}
    task = _task(api, "version", project=ds)
    assert api.ok("projects.get_all_ex", ask)["projects"][0]["dataset_stats"] is None
    api.ok("tasks.edit", {"task": task, "runtime": {"ds_file_count": 2, "ds_total_size": 1000}})
    stats = api.ok("projects.get_all_ex", ask)["projects"][0]["dataset_stats"]
    assert stats == {"file_count": 2, "total_size": 1000}
    api.ok("tasks.archive", {"tasks": [task]})
    assert api.ok("projects.get_all_ex", ask)["projects"][0]["dataset_stats"] is None
