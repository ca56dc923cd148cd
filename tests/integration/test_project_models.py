"""Models and users in projects against PostgreSQL: a project's delete and validate_delete
count its models and move them out, own contents, include_subprojects on tasks and models,
models.update_tags, the models' metadata keys and values, and who was active in projects."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.errors import InvalidRequest, ProjectHasModels
from tasktrack.store import credentials


def _project(client: Client, name: str) -> str:
    return str(client.create_project(name=name)["id"])


def _model(client: Client, **kw: object) -> str:
    return str(client.create_model(name="m", uri="file:///m", **kw)["id"])


def _task(client: Client, **kw: object) -> str:
    return str(client.create(name="a task", type="training", **kw)["id"])


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_delete_counts_unarchived_models_and_moves_every_model_out(
    client: Client, engine: Engine
) -> None:
    top = _project(client, "del/top")
    child = _project(client, "del/top/child")
    active = _model(client, project=child)
    archived = _model(client, project=top, system_tags=["archived"])
    elsewhere = _model(client, project=_project(client, "del/other"))
    found = client.validate_project_delete(top)
    assert (found["models"], found["non_archived_models"]) == (2, 1)
    before = _events(engine)
    with pytest.raises(ProjectHasModels):
        client.delete_project(project=top)
    assert _events(engine) == before  # refused: nothing written
    assert client.get_model(active).project == child
    client.archive_models(ids=[active])
    assert client.validate_project_delete(top)["non_archived_models"] == 0
    done = client.delete_project(project=top)
    assert (done["deleted"], done["disassociated_tasks"]) == (2, 0)
    assert client.get_model(active).project is None
    assert client.get_model(archived).project is None
    assert client.get_model(elsewhere).project is not None
    # The log says who moved each model out, on the model's own stream.
    with engine.connect() as conn:
        moved = conn.execute(
            text(
                "SELECT data::jsonb->>'project', metadata::jsonb->>'user' FROM events"
                " WHERE stream_id = :s AND type = 'ModelMoved'"
            ),
            {"s": f"model:{active}"},
        ).fetchall()
    assert [tuple(r) for r in moved] == [(None, "alice")]


def test_own_contents_count_unarchived_models_of_the_project_itself(client: Client) -> None:
    parent = _project(client, "own")
    child = _project(client, "own/child")
    _model(client, project=parent)
    _model(client, project=parent, system_tags=["archived"])
    _model(client, project=child)
    _task(client, project=parent)
    own = client.project_own_contents([parent, child])
    assert own[parent] == {"own_tasks": 1, "own_models": 1}
    assert own[child] == {"own_tasks": 0, "own_models": 1}
    assert client.project_own_contents([parent], ["someone else"])[parent]["own_models"] == 0


def test_include_subprojects_reaches_tasks_models_types_and_frameworks(client: Client) -> None:
    parent = _project(client, "sub")
    child = _project(client, "sub/a/b")
    _task(client, project=parent)
    deep_task = client.create(name="task 2", type="testing", project=child)["id"]
    m1 = _model(client, project=parent, framework="torch")
    m2 = _model(client, project=child, framework="jax")
    assert len(client.get_all(project=parent)) == 1
    found = client.get_all(project=parent, include_subprojects=True)
    assert {t.id for t in found} >= {deep_task}
    assert len(found) == 2
    # An exclusion stays an exclusion.
    assert len(client.get_all(project=[f"-{parent}"], include_subprojects=True)) == 1
    assert [m.id for m in client.get_models(project=parent)] == [m1]
    assert {m.id for m in client.get_models(project=parent, include_subprojects=True)} == {m1, m2}
    assert client.get_types([parent]) == ["testing", "training"]
    assert client.get_model_frameworks([parent]) == ["jax", "torch"]


def test_update_model_tags_changes_only_the_companys_own_models(
    client: Client, service_client: Client
) -> None:
    mine = _model(client, tags=["old", "keep"])
    theirs = _model(service_client.as_caller("another-co", "eve"), tags=["x"], public=True)
    result = client.update_model_tags(
        ids=[mine, theirs, "missing"], add_tags=["new"], remove_tags=["old"]
    )
    assert result == {"updated": 1}
    assert client.get_model(mine).tags == ["keep", "new"]
    assert client.get_model(theirs).tags == ["x"]
    assert client.update_model_tags(ids=[mine], add_tags=["new"]) == {"updated": 0}
    with pytest.raises(InvalidRequest):
        client.update_model_tags(ids=[mine])
    with pytest.raises(InvalidRequest):
        client.update_model_tags(ids=[], add_tags=["a"])


def _meta(**items: str) -> dict[str, dict[str, str]]:
    return {k: {"key": k, "type": "str", "value": v} for k, v in items.items()}


def test_model_metadata_keys_and_values_follow_clearmls_project_scopes(
    client: Client, service_client: Client
) -> None:
    parent = _project(client, "meta")
    child = _project(client, "meta/child")
    _model(client, metadata=_meta(top="1"))
    _model(client, project=parent, metadata=_meta(k="b", shared="x"))
    _model(client, project=child, metadata=_meta(k="a", deep="y"))
    _model(service_client.as_caller("meta-other", "eve"), public=True, metadata=_meta(k="pub"))
    _model(service_client.as_caller("meta-other", "eve"), metadata=_meta(hidden="z"))
    every = client.model_metadata_keys()
    assert every.keys == ["deep", "k", "shared", "top"]
    assert (every.total, every.remaining) == (4, 0)
    # Without subprojects and without a project: the models of no project only.
    assert client.model_metadata_keys(include_subprojects=False).keys == ["k", "top"]
    assert client.model_metadata_keys(parent).keys == ["deep", "k", "shared"]
    assert client.model_metadata_keys(parent, include_subprojects=False).keys == ["k", "shared"]
    paged = client.model_metadata_keys(page=1, page_size=3)
    assert (paged.keys, paged.total, paged.remaining) == (["top"], 4, 0)
    values = client.model_metadata_values(None, "k")
    assert (values.total, values.values) == (3, ["a", "b", "pub"])
    assert client.model_metadata_values(None, "k", allow_public=False).values == ["a", "b"]
    assert client.model_metadata_values([parent], "k", include_subprojects=False).values == ["b"]
    assert client.model_metadata_values([child], "nope").total == 0


def test_active_users_and_user_names_come_from_projects_and_their_contents(
    client: Client, service_client: Client, company: str, engine: Engine
) -> None:
    with engine.begin() as conn:
        for user in ("alice", "bob", "carol"):
            credentials.create(conn, company, user)
    bob = service_client.as_caller(company, "bob")
    carol = service_client.as_caller(company, "carol")
    parent = _project(bob, "act")  # bob created the project tree
    child = _project(client, "act/child")
    assert [u["id"] for u in client.active_users([parent])] == ["alice", "bob"]
    assert client.project_user_names("task", [parent]) == []
    _task(carol, project=child)
    _model(client, project=child)
    assert [u["id"] for u in client.active_users([parent])] == ["alice", "bob", "carol"]
    assert [u["id"] for u in client.active_users([parent], ["carol", "zed"])] == ["carol"]
    assert client.project_user_names("task", [parent]) == [{"id": "carol", "name": "carol"}]
    assert client.project_user_names("task", [parent], include_subprojects=False) == []
    assert client.project_user_names("model", [child]) == [{"id": "alice", "name": "alice"}]
    assert [u["id"] for u in client.active_users([])] == ["alice", "bob", "carol"]
