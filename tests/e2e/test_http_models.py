"""The models service over HTTP: ClearML's answers, and refusals that change nothing."""

from __future__ import annotations

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
