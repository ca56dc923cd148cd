"""Models and users in projects over HTTP: delete and validate_delete with models, own
contents, include_subprojects, models.update_tags, metadata keys and values, active users."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.e2e.http import Api


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def _project(api: Api, name: str) -> str:
    return str(api.ok("projects.create", {"name": name, "description": ""})["id"])


def _model(api: Api, **body: object) -> str:
    return str(api.ok("models.create", {"name": "m", "uri": "file:///m", **body})["id"])


def test_a_project_with_models_over_http(api: Api, e2e_engine: Engine) -> None:
    parent = _project(api, "Models here")
    child = _project(api, "Models here/below")
    model = _model(api, project=parent, tags=["first"])
    _model(api, project=child)
    api.ok("tasks.create", {"name": "deep task", "type": "testing", "project": child})
    found = api.ok("projects.validate_delete", {"project": parent})
    assert (found["models"], found["non_archived_models"]) == (2, 2)
    before = _events(e2e_engine)
    assert api.error("projects.delete", {"project": child})[:2] == (400, 402)  # tasks first
    own = api.ok("projects.get_all_ex", {"id": [parent, child], "check_own_contents": True})
    counts = {p["id"]: (p["own_tasks"], p["own_models"]) for p in own["projects"]}
    assert counts == {parent: (0, 1), child: (1, 1)}
    tasks = api.ok("tasks.get_all_ex", {"project": parent, "include_subprojects": True})["tasks"]
    assert len(tasks) == 1
    assert len(api.ok("tasks.get_all", {"project": parent})["tasks"]) == 0
    models = api.ok("models.get_all", {"project": parent, "include_subprojects": True})["models"]
    assert len(models) == 2
    assert len(api.ok("models.get_all_ex", {"project": parent})["models"]) == 1
    assert api.ok("models.update_tags", {"ids": [model], "add_tags": ["second"]}) == {"updated": 1}
    assert api.ok("projects.get_model_tags", {"projects": [parent]})["tags"] == ["first", "second"]
    assert api.error("models.update_tags", {"ids": [model]})[:2] == (400, 12)
    assert _events(e2e_engine) == before + 1  # the refusals wrote nothing
    api.ok("models.archive_many", {"ids": [model]})
    assert api.error("projects.delete", {"project": parent, "force": False})[:2] == (400, 402)
    done = api.ok("projects.delete", {"project": parent, "force": True})
    assert done["deleted"] == 2
    assert "project" not in api.ok("models.get_by_id", {"model": model})["model"]


def test_model_metadata_keys_and_values_over_http(api: Api) -> None:
    meta = {"lr": {"key": "lr", "type": "float", "value": "0.1"}}
    _model(api, metadata=meta)
    project = _project(api, "Metadata")
    in_project = _model(
        api, project=project, metadata={**meta, "arch": {"key": "arch", "value": "resnet"}}
    )
    keys = api.ok("projects.get_model_metadata_keys", {})
    assert keys == {"total": 2, "remaining": 0, "keys": ["arch", "lr"]}
    top = api.ok("projects.get_model_metadata_keys", {"include_subprojects": False})
    assert top["keys"] == ["lr"]
    values = api.ok("projects.get_model_metadata_values", {"key": "arch"})
    assert values == {"total": 1, "values": ["resnet"]}
    assert api.error("projects.get_model_metadata_values", {})[:2] == (400, 12)
    shaped = api.ok("models.get_all_ex", {"id": [in_project], "only_fields": ["metadata.lr"]})
    assert list(shaped["models"][0]["metadata"]) == ["lr"]


def test_active_users_and_user_names_over_http(new_caller: Callable[..., Api]) -> None:
    alice = new_caller()
    company = alice.credential.company  # type: ignore[attr-defined]
    bob = new_caller(company, "bob")
    project = _project(bob, "Active")
    child = _project(bob, "Active/child")
    me = alice.ok("users.get_current_user", {})["user"]["id"]
    active = alice.ok("users.get_all_ex", {"active_in_projects": [project]})["users"]
    assert [u["id"] for u in active] == ["bob"]
    assert alice.ok("projects.get_user_names", {"projects": [project]}) == {"users": []}
    alice.ok("tasks.create", {"name": "a task", "type": "testing", "project": child})
    active = alice.ok("users.get_all_ex", {"active_in_projects": [project], "id": [me]})
    assert [u["id"] for u in active["users"]] == [me]
    names = alice.ok("projects.get_user_names", {"projects": [project]})["users"]
    assert names == [{"id": me, "name": me}]
    assert alice.ok("projects.get_user_names", {"projects": [project], "entity": "model"}) == {
        "users": []
    }
    assert len(alice.ok("users.get_all_ex", {})["users"]) == 2


def test_metadata_pages_past_any_offset_answer_empty(api: Api) -> None:
    """A page number that would overflow OFFSET (the fuzz test found one) is just past the end."""
    got = api.ok("projects.get_model_metadata_values", {"key": "k", "page": 18446744073709552})
    assert got["values"] == []
    assert api.ok("projects.get_model_metadata_keys", {"page": 2**62})["keys"] == []
