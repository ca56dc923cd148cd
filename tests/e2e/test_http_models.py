"""The models service over HTTP: ClearML's answers, and refusals that change nothing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.e2e.http import Api


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_a_model_life_over_http(api: Api, e2e_engine: Engine) -> None:
    task = api.ok("tasks.create", {"name": "http task", "type": "training"})["id"]
    api.ok("tasks.started", {"task": task})
    out = api.ok("models.update_for_task", {"task": task, "uri": "file:///w", "iteration": 7})
    assert out["created"] is True
    model = api.ok("models.get_by_id", {"model": out["id"]})["model"]
    assert (model["ready"], model["task"], model["uri"]) == (False, task, "file:///w")
    found = api.ok("models.get_all_ex", {"id": [out["id"]], "include_stats": True})["models"]
    assert found[0]["stats"] == {"labels_count": 0}
    api.ok("tasks.stopped", {"task": task})
    ready = api.ok("models.set_ready", {"model": out["id"]})
    assert ready["published_task"]["id"] == task
    used = api.ok("models.create", {"name": "input", "uri": "file:///i"})["id"]
    api.ok("tasks.create", {"name": "user", "type": "training", "execution": {"model": used}})
    before = _events(e2e_engine)
    refusals = [
        ("models.set_ready", {"model": out["id"]}, 203),
        ("models.delete", {"model": used}, 205),
        ("tasks.clone", {"task": task, "execution_overrides": {"model": "nope"}}, 201),
        ("models.get_by_id", {"model": "nope"}, 201),
        ("models.create", {"name": "m"}, 12),
        ("models.create", {"name": "m", "uri": "u", "labels": {"a": "x"}}, 12),
        ("models.delete", {"model": out["id"]}, 206),
    ]
    for endpoint, body, subcode in refusals:
        assert api.error(endpoint, body)[:2] == (400, subcode), endpoint
    assert _events(e2e_engine) == before
    assert api.ok("models.delete", {"model": out["id"], "force": True})["deleted"] is True
    outputs = api.ok("tasks.get_by_id", {"task": task})["task"]["models"]["output"]
    assert outputs[0]["model"] == f"__DELETED__{out['id']}"


def _models(api: Api, names: list[str], project: str) -> list[str]:
    made = ({"name": n, "uri": f"file:///{n}", "project": project} for n in names)
    return [str(api.ok("models.create", m)["id"]) for m in made]


def test_models_get_all_ex_scrolls_under_one_id(api: Api) -> None:
    project = api.ok("projects.create", {"name": "scrolled models", "description": "d"})["id"]
    names = [f"m{i}" for i in range(7)]
    ids = _models(api, list(reversed(names)), project)[::-1]  # made m6 first: name != age
    body = {"project": [project], "order_by": ["name"], "size": 3, "only_fields": ["name"]}
    first = api.ok("models.get_all_ex", {**body, "scroll_id": None})
    scroll = first["scroll_id"]
    seen = [m["name"] for m in first["models"]]
    for expected in (3, 1, 0):
        data = api.ok("models.get_all_ex", {**body, "scroll_id": scroll})
        assert len(data["models"]) == expected
        seen += [m["name"] for m in data["models"]]
        # One id for the scroll's life: ClearML's web UI takes a changed one for an expired
        # scroll and loads its table again (its "load more" then repeats the first page).
        assert data["scroll_id"] == scroll
    assert seen == names
    refreshed = api.ok("models.get_all_ex", {**body, "scroll_id": scroll, "refresh_scroll": True})
    assert [m["id"] for m in refreshed["models"]] == ids
    assert refreshed["scroll_id"] == scroll
    assert api.ok("models.get_all_ex", {**body, "scroll_id": scroll})["models"] == []
    # Descending by name, and no scroll without a size (ClearML's 400/12).
    down = api.ok("models.get_all_ex", {**body, "order_by": ["-name"], "scroll_id": None})
    assert [m["name"] for m in down["models"]] == names[::-1][:3]
    assert api.error("models.get_all_ex", {"scroll_id": scroll})[:2] == (400, 12)
    assert api.error("models.get_all_ex", {**body, "size": 0})[:2] == (400, 12)
    # Without scroll_id and size, get_all_ex pages as before and answers no scroll.
    plain = api.ok("models.get_all_ex", {"project": [project], "order_by": ["name"]})
    assert "scroll_id" not in plain
    assert [m["name"] for m in plain["models"]] == names


def test_models_scroll_unknown_or_foreign_id_starts_over(
    api: Api, new_caller: Callable[..., Api]
) -> None:
    project = api.ok("projects.create", {"name": "fresh models", "description": "d"})["id"]
    ids = _models(api, ["a", "b", "c"], project)
    body = {"project": [project], "order_by": ["name"], "size": 2}
    mine = api.ok("models.get_all_ex", {**body, "scroll_id": None})["scroll_id"]
    again = api.ok("models.get_all_ex", {**body, "scroll_id": "no such scroll"})
    assert [m["id"] for m in again["models"]] == ids[:2]
    assert again["scroll_id"] not in (mine, "no such scroll")
    # Another company's caller presenting my scroll's id gets a scroll of its own, at 0, and
    # sees none of my models.
    other = new_caller()
    theirs = other.ok("models.get_all_ex", {"size": 2, "scroll_id": mine, "allow_public": False})
    assert theirs["models"] == []
    assert theirs["scroll_id"] != mine
    nexts = api.ok("models.get_all_ex", {**body, "scroll_id": mine})["models"]
    assert [m["id"] for m in nexts] == [ids[2]]


def test_models_order_by_an_unknown_field_is_refused(api: Api) -> None:
    assert api.error("models.get_all_ex", {"order_by": ["-no_such_field"]})[:2] == (400, 16)


def test_models_get_all_ex_joins_references_and_get_by_id_ex(api: Api) -> None:
    project = api.ok("projects.create", {"name": "joined models", "description": "d"})["id"]
    task = api.ok("tasks.create", {"name": "maker", "type": "training", "project": project})["id"]
    [model] = _models(api, ["joined"], project)
    api.ok("models.edit", {"model": model, "task": task})
    asked = ["name", "company", "user.name", "project.name", "task.name", "parent"]
    # The web UI's table request: `"id": []` means no filter (models.get_all keeps "nothing").
    body = {"id": [], "project": [project], "only_fields": asked}
    [got] = api.ok("models.get_all_ex", body)["models"]
    company = got["company"]["id"]
    assert got == {
        "id": model,
        "name": "joined",
        "company": {"id": company, "name": company},
        "user": {"id": got["user"]["id"], "name": got["user"]["id"]},
        "project": {"id": project, "name": "joined models"},
        "task": {"id": task, "name": "maker"},
    }
    assert api.ok("models.get_all", {"id": [], "project": [project]})["models"] == []
    # Without only_fields references stay `{id}` and the user its id, as before.
    [whole] = api.ok("models.get_all_ex", {"id": [model]})["models"]
    assert (whole["project"], whole["task"]) == ({"id": project}, {"id": task})
    assert whole["user"] == got["user"]["id"]
    [by_id] = api.ok("models.get_by_id_ex", {"id": model, "only_fields": asked})["models"]
    assert by_id == got
    assert api.error("models.get_by_id_ex", {"only_fields": asked})[:2] == (400, 12)


def test_models_filters_on_tags(api: Api) -> None:
    project = api.ok("projects.create", {"name": "tagged models", "description": "d"})["id"]
    ids = dict(zip("abc", _models(api, ["a", "b", "c"], project), strict=True))
    api.ok("models.update_tags", {"ids": [ids["a"]], "add_tags": ["prod"]})
    api.ok("models.update_tags", {"ids": [ids["b"]], "add_tags": ["prod", "old"]})

    def names(tags: dict[str, object]) -> list[str]:
        body = {"project": [project], "order_by": ["name"], "filters": {"tags": tags}}
        return [m["name"] for m in api.ok("models.get_all_ex", body)["models"]]

    assert names({"any": {"include": ["prod"]}}) == ["a", "b"]
    assert names({"any": {"exclude": ["prod"]}}) == ["c"]
    assert names({"all": {"include": ["prod", "old"]}}) == ["b"]
    assert names({"any": {"include": [None]}}) == ["c"]
    assert names({"any": {"include": ["old"], "exclude": ["prod"]}}) == ["b", "c"]
    body = {"filters": {"tags": {"any": {"include": ["x"]}, "bogus": 1}}}
    assert api.error("models.get_all_ex", body)[:2] == (400, 12)
