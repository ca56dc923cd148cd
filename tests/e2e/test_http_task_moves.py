"""tasks.move, make_public/make_private and delete's cleanup answer over HTTP, as ClearML's
client reads them; refusals change nothing, and another company never reaches the task."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.e2e.http import Api


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_move_by_name_and_the_listing_answers_the_project_as_a_reference(api: Api) -> None:
    task = api.ok("tasks.create", {"name": "to move", "type": "training"})["id"]
    project = api.ok("tasks.move", {"ids": [task], "project_name": "http moves"})["project_id"]
    listed = api.ok("tasks.get_all_ex", {"id": [task]})["tasks"][0]
    assert listed["project"] == {"id": project}
    found = api.ok("projects.get_all_ex", {"id": [project]})["projects"]
    assert found[0]["name"] == "http moves"
    clone = api.ok("tasks.clone", {"task": task, "new_project_name": "http clones"})
    assert clone["new_project"]["name"] == "http clones"
    # An empty name is no name (ClearML ignores it too): a plain clone, in the source's project.
    plain = api.ok("tasks.clone", {"task": task, "new_project_name": ""})
    assert "new_project" not in plain
    copied = api.ok("tasks.get_by_id", {"task": plain["id"]})["task"]
    assert copied["project"] == project
    assert api.ok("tasks.move", {"ids": [task], "project": None}) == {"project_id": None}
    assert "project" not in api.ok("tasks.get_all_ex", {"id": [task]})["tasks"][0]
    assert api.error("tasks.move", {"ids": [task]})[:2] == (400, 11)


def test_public_tasks_over_http(new_caller: Callable[..., Api], e2e_engine: Engine) -> None:
    owner, stranger = new_caller(), new_caller(user="mallory")
    task = owner.ok("tasks.create", {"name": "shared", "type": "training"})["id"]
    owner.ok("tasks.started", {"task": task})
    assert owner.error("tasks.make_private", {"ids": [task]})[:2] == (400, 101)
    assert stranger.error("tasks.make_public", {"ids": [task]})[:2] == (400, 101)
    assert owner.ok("tasks.make_public", {"ids": [task]}) == {"updated": 1}
    before = _events(e2e_engine)
    assert owner.error("tasks.stopped", {"task": task})[:2] == (403, 21)
    assert stranger.error("tasks.stopped", {"task": task})[:2] == (400, 101)
    assert stranger.error("tasks.make_private", {"ids": [task]})[:2] == (400, 101)
    assert _events(e2e_engine) == before
    assert [t["id"] for t in owner.ok("tasks.get_all_ex", {"id": [task]})["tasks"]] == [task]
    assert owner.ok("tasks.make_private", {"ids": [task]}) == {"updated": 1}
    owner.ok("tasks.stopped", {"task": task})


def test_delete_answers_the_cleanup(api: Api) -> None:
    task = api.ok("tasks.create", {"name": "with a model", "type": "training"})["id"]
    model = api.ok("models.create", {"name": "m", "uri": "file:///m", "labels": {}, "task": task})
    assert api.error("tasks.delete", {"task": task})[:2] == (400, 123)
    answer = api.ok("tasks.delete", {"task": task, "force": True, "return_file_urls": True})
    assert (answer["deleted"], answer["updated_models"], answer["deleted_models"]) == (True, 1, 0)
    assert answer["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": []}
    listed = api.ok("models.get_all_ex", {"id": [model["id"]]})["models"][0]
    assert listed["task"] == {"id": f"__DELETED__{task}"}
