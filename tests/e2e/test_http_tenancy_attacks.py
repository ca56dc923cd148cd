"""Tenant isolation under attack (issue 10, item 4): a company that guesses or enumerates another
company's task, project and queue ids gets exactly the answer an unknown id gets, on every
endpoint that takes one; filters, `company` fields and only_fields never reach the other
company; a request id reused across companies never returns the other company's answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, text

from tasktrack.http.endpoints import ENDPOINTS
from tests.e2e.http import Api

SCALAR = "training_stats_scalar"
UNKNOWN = "0123456789abcdef0123456789abcdef"

# Every endpoint whose body names one task, with what else its body needs.
TASK_BODIES: dict[str, dict[str, Any]] = {
    "tasks.get_by_id": {},
    "tasks.get_status_history": {},
    "events.scalar_metrics_iter_histogram": {},
    "events.get_task_log": {},
    "events.add": {"type": SCALAR, "metric": "m", "value": 9, "iter": 99},
    "events.add_batch": {"type": SCALAR, "metric": "m", "value": 9, "iter": 99},
    "analytics.status_intervals": {},
    "analytics.status_durations": {},
    "analytics.queue_waits": {},
    "workers.status_report": {"worker": "evil"},
    "tasks.ping": {},
    "tasks.edit": {"comment": "pwned", "force": True},
    "tasks.update": {"comment": "pwned"},
    "tasks.clone": {},
    "tasks.delete": {"force": True},
    "tasks.reset": {"force": True},
    "tasks.started": {"force": True},
    "tasks.stopped": {"force": True},
    "tasks.completed": {"force": True},
    "tasks.failed": {"force": True},
    "tasks.close": {"force": True},
    "tasks.stop": {"force": True},
    "tasks.publish": {"force": True},
    "tasks.enqueue": {"queue_name": "q", "force": True},
    "tasks.dequeue": {},
    "tasks.set_requirements": {"requirements": {"pip": "x"}},
    "tasks.edit_hyper_params": {"hyperparams": [{"section": "s", "name": "n"}], "force": True},
    "tasks.delete_hyper_params": {"hyperparams": [{"section": "s"}], "force": True},
    "tasks.edit_configuration": {"configuration": [{"name": "c", "value": "v"}], "force": True},
    "tasks.delete_configuration": {"configuration": ["c"], "force": True},
    "tasks.add_or_update_artifacts": {"artifacts": [{"key": "k", "type": "t"}]},
    "tasks.delete_artifacts": {"artifacts": [{"key": "k"}]},
    "tasks.add_or_update_model": {"name": "m", "model": "x", "type": "input"},
    "tasks.delete_models": {"models": [{"name": "m", "type": "input"}]},
    # The models service: a model of another company's task is refused as an unknown task's.
    "models.create": {"name": "pwned", "uri": "file:///x"},
    "models.update_for_task": {"uri": "file:///x", "iteration": 10**6},
    "models.get_by_task_id": {},
    "models.update": {"model": "0" * 32, "iteration": 10**6},
    "models.edit": {"model": "0" * 32, "iteration": 10**6},
    # A filter by another company's task finds nothing, as one by an unknown task.
    "models.get_all": {},
    "models.get_all_ex": {},
    "models.get_by_id_ex": {"id": ["no-such-model"]},
    # The events service's readers and its two deleting commands (issue 18).
    "events.get_task_events": {},
    "events.get_task_plots": {},
    "events.get_plot_sample": {"metric": "m"},
    "events.next_plot_sample": {"scroll_id": "hs1.e30"},
    "events.get_debug_image_sample": {"metric": "m", "variant": "v"},
    "events.next_debug_image_sample": {"scroll_id": "hs1.e30"},
    "events.scalar_metrics_iter_raw": {"metric": {"metric": "m"}},
    "events.get_task_latest_scalar_values": {},
    "events.get_scalar_metrics_and_variants": {},
    "events.get_vector_metrics_and_variants": {},
    "events.vector_metrics_iter_histogram": {"metric": "m", "variant": "v"},
    "events.clear_task_log": {"allow_locked": True},
    "events.delete_for_task": {"allow_locked": True},
    # The reports service: another company's task is as unknown as an unknown one.
    "reports.update": {"comment": "pwned"},
    "reports.publish": {},
    "reports.archive": {},
    "reports.unarchive": {},
    "reports.move": {"project_name": "pwned"},
    "reports.delete": {"force": True},
    "pipelines.start_pipeline": {},
    # The queues service, on a queue of the stranger's own ("@queue"): another company's task
    # is as unknown to it (101), or as absent from the queue (703), as an unknown one.
    **{
        f"queues.{action}": {"queue": "@queue"}
        for action in (
            "add_task",
            "remove_task",
            "move_task_forward",
            "move_task_backward",
            "move_task_to_front",
            "move_task_to_back",
            "get_next_task",
        )
    },
}
# Endpoints whose body names one queue, with what else its body needs.
QUEUE_BODIES: dict[str, dict[str, Any]] = {
    "queues.get_by_id": {},
    "queues.update": {"name": "pwned"},
    "queues.delete": {"force": True},
    "queues.clear_queue": {},
    "queues.get_next_task": {},
    "queues.peek_task": {},
    "queues.get_num_entries": {},
    "queues.add_or_update_metadata": {"metadata": [{"key": "k", "value": "pwned"}]},
    "queues.delete_metadata": {"keys": ["k"]},
    "queues.move_task_to_front": {"task": "@task"},
}
# Endpoints whose body names several tasks.
IDS_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "tasks.update_tags": ("ids", {"add_tags": ["pwned"]}),
    "tasks.archive": ("tasks", {}),
    "tasks.get_hyper_params": ("tasks", {}),
    "tasks.get_configurations": ("tasks", {}),
    "tasks.get_configuration_names": ("tasks", {}),
    "models.move": ("ids", {}),
    "tasks.move": ("ids", {"project_name": "pwned"}),
    "tasks.make_public": ("ids", {}),
    "tasks.make_private": ("ids", {}),
    "models.make_public": ("ids", {}),
    "models.update_tags": ("ids", {"add_tags": ["pwned"]}),
    "models.make_private": ("ids", {}),
    "projects.get_unique_metric_variants": ("ids", {}),  # the victim's metric names stay hidden
    "events.get_multi_task_plots": ("tasks", {}),
    "events.get_task_single_value_metrics": ("tasks", {}),
    "events.multi_task_scalar_metrics_iter_histogram": ("tasks", {}),
    "events.get_task_metrics": ("tasks", {}),
    "events.get_multi_task_metrics": ("tasks", {}),
    "pipelines.delete_runs": ("ids", {"project": UNKNOWN}),
    **{
        name: ("ids", {"queue_name": "q"} if name == "tasks.enqueue_many" else {})
        for name in ENDPOINTS
        if name.endswith("_many")
    },
}


class Owner(msgspec.Struct, kw_only=True):
    """The victim company's ids: a running task with metrics and a log, a queued task, a
    project and a queue."""

    api: Api
    task: str
    queued: str
    project: str
    queue: str


@pytest.fixture
def owner(new_caller: Callable[..., Api]) -> Owner:
    api = new_caller()
    task = api.ok("tasks.create", {"name": "secret", "type": "training", "tags": ["t"]})["id"]
    api.ok("tasks.started", {"task": task})
    api.ok("events.add", {"task": task, "type": SCALAR, "metric": "m", "value": 1, "iter": 1})
    api.ok("events.add", {"task": task, "type": "log", "msg": "secret line"})
    api.ok(
        "tasks.edit_hyper_params",
        {"task": task, "hyperparams": [{"section": "s", "name": "n"}], "force": True},
    )
    queued = api.ok("tasks.create", {"name": "queued secret", "type": "training"})["id"]
    api.ok("tasks.enqueue", {"task": queued, "queue_name": "owner-queue"})
    queue = api.ok("tasks.get_by_id", {"task": queued})["task"]["execution"]["queue"]
    project = api.ok("projects.create", {"name": "owner project"})["id"]
    return Owner(api=api, task=task, queued=queued, project=project, queue=queue)


@pytest.fixture
def stranger(new_caller: Callable[..., Api]) -> Api:
    api = new_caller(user="mallory")
    api.ok("tasks.create", {"name": "stranger's own", "type": "training", "tags": ["t"]})
    return api


def _answer(api: Api, endpoint: str, body: dict[str, Any], *, ndjson: bool = False) -> Any:
    """(status, subcode, message, error_data, data) of a call."""
    content = json.dumps(body) if not ndjson else json.dumps(body) + "\n"
    response = api.raw(endpoint, content)
    meta = response.json()["meta"]
    assert meta["result_code"] == response.status_code
    data = response.json()["data"]
    return [
        response.status_code,
        meta["result_subcode"],
        meta["result_msg"],
        meta["error_data"],
        data,
    ]


def _as_unknown(answer: Any, guessed: str) -> Any:
    """The answer with the guessed id written as the unknown one (messages name the id)."""
    return json.loads(json.dumps(answer).replace(guessed, UNKNOWN))


def _owner_streams(engine: Engine, *ids: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM events WHERE stream_id = ANY(:ids)"), {"ids": list(ids)}
            ).scalar_one()
        )


def test_the_tables_name_every_endpoint_that_takes_task_ids() -> None:
    takes_task = {
        name
        for name, spec in ENDPOINTS.items()
        if "task" in getattr(spec.request, "__struct_fields__", ())
    }
    assert takes_task == set(TASK_BODIES)
    takes_ids = {
        name
        for name, spec in ENDPOINTS.items()
        if {"ids", "tasks"} & set(getattr(spec.request, "__struct_fields__", ()))
    }
    # get_entities_count's `tasks` is a filter over the caller's own tasks, not a list of ids.
    assert takes_ids - {"organization.get_entities_count"} == set(IDS_BODIES) | set(
        PROJECT_IDS_BODIES
    )


# Endpoints whose body names projects (by `project` or `ids`): a stranger's guess of another
# company's project gets the unknown-project answer and changes nothing.
PROJECT_IDS_BODIES: dict[str, dict[str, Any]] = {
    "projects.make_public": {"ids": ["@"]},
    "projects.make_private": {"ids": ["@"]},
}
PROJECT_BODIES: dict[str, dict[str, Any]] = {
    **PROJECT_IDS_BODIES,
    "projects.update": {"project": "@", "name": "pwned"},
    "projects.move": {"project": "@", "new_location": "pwned"},
    "projects.merge": {"project": "@"},
    "projects.delete": {"project": "@", "force": True},
    "projects.validate_delete": {"project": "@"},
    "reports.create": {"project": "@", "name": "pwned"},
}


@pytest.mark.parametrize("endpoint", sorted(PROJECT_BODIES))
def test_a_guessed_project_id_gets_exactly_the_unknown_project_answer(
    endpoint: str, owner: Owner, stranger: Api, e2e_engine: Engine
) -> None:
    events = _owner_streams(e2e_engine, owner.project)
    body = PROJECT_BODIES[endpoint]
    guessed = _answer(stranger, endpoint, _fill_all(body, owner.project))
    unknown = _answer(stranger, endpoint, _fill_all(body, UNKNOWN))
    assert _as_unknown(guessed, owner.project) == unknown
    assert guessed[:2] == [400, 401]
    assert _owner_streams(e2e_engine, owner.project) == events


def _fill_all(body: dict[str, Any], value: str) -> dict[str, Any]:
    return {k: [value] if v == ["@"] else value if v == "@" else v for k, v in body.items()}


@pytest.mark.parametrize("endpoint", sorted(TASK_BODIES))
def test_a_guessed_task_id_gets_exactly_the_unknown_id_answer(
    endpoint: str, owner: Owner, stranger: Api, e2e_engine: Engine
) -> None:
    before = owner.api.ok("tasks.get_by_id", {"task": owner.task})["task"]
    events = _owner_streams(e2e_engine, owner.task)
    extra, ndjson = TASK_BODIES[endpoint], endpoint == "events.add_batch"
    if extra.get("queue") == "@queue":
        mine = stranger.ok("queues.create", {"name": f"mine {uuid.uuid4().hex[:8]}"})["id"]
        extra = {**extra, "queue": mine}
    guessed = _answer(stranger, endpoint, {"task": owner.task, **extra}, ndjson=ndjson)
    unknown = _answer(stranger, endpoint, {"task": UNKNOWN, **extra}, ndjson=ndjson)
    assert _as_unknown(guessed, owner.task) == unknown
    assert owner.api.ok("tasks.get_by_id", {"task": owner.task})["task"] == before
    assert _owner_streams(e2e_engine, owner.task) == events


@pytest.mark.parametrize("endpoint", sorted(IDS_BODIES))
def test_guessed_ids_in_batches_get_exactly_the_unknown_id_answer(
    endpoint: str, owner: Owner, stranger: Api, e2e_engine: Engine
) -> None:
    key, extra = IDS_BODIES[endpoint]
    events = _owner_streams(e2e_engine, owner.task, owner.queued)
    guessed = _answer(stranger, endpoint, {key: [owner.queued], **extra})
    unknown = _answer(stranger, endpoint, {key: [UNKNOWN], **extra})
    assert _as_unknown(guessed, owner.queued) == unknown
    assert _owner_streams(e2e_engine, owner.task, owner.queued) == events


def test_guessed_parents_projects_and_queues_get_the_unknown_id_answer(
    owner: Owner, stranger: Api
) -> None:
    own = stranger.ok("tasks.create", {"name": "mine", "type": "training"})["id"]
    calls = [
        ("tasks.create", {"name": "child", "type": "training", "parent": "@"}),
        ("tasks.validate", {"name": "child", "type": "training", "parent": "@"}),
        ("tasks.clone", {"task": own, "new_task_parent": "@"}),
        ("tasks.get_by_id", {"task": "@", "as_of": 1}),
    ]
    for endpoint, body in calls:
        guessed = _answer(stranger, endpoint, _fill(body, owner.task))
        assert _as_unknown(guessed, owner.task) == _answer(stranger, endpoint, _fill(body, UNKNOWN))
    project = _answer(stranger, "projects.get_by_id", {"project": owner.project})
    assert _as_unknown(project, owner.project) == _answer(
        stranger, "projects.get_by_id", {"project": UNKNOWN}
    )
    assert project[:2] == [400, 401]
    queue = _answer(stranger, "tasks.enqueue", {"task": own, "queue": owner.queue})
    assert _as_unknown(queue, owner.queue) == _answer(
        stranger, "tasks.enqueue", {"task": own, "queue": UNKNOWN}
    )
    assert queue[:2] == [400, 701]


@pytest.mark.parametrize("endpoint", sorted(QUEUE_BODIES))
def test_a_guessed_queue_id_gets_exactly_the_unknown_queue_answer(
    endpoint: str, owner: Owner, stranger: Api, e2e_engine: Engine
) -> None:
    events = _owner_streams(e2e_engine, owner.queue, owner.queued)
    body = {k: owner.queued if v == "@task" else v for k, v in QUEUE_BODIES[endpoint].items()}
    guessed = _answer(stranger, endpoint, {"queue": owner.queue, **body})
    unknown = _answer(stranger, endpoint, {"queue": UNKNOWN, **body})
    assert _as_unknown(guessed, owner.queue) == unknown
    assert guessed[:2] == [400, 701]
    assert _owner_streams(e2e_engine, owner.queue, owner.queued) == events
    metrics = {"from_date": 1.0, "to_date": 2e9, "interval": 3600, "queue_ids": [owner.queue]}
    assert stranger.ok("queues.get_queue_metrics", metrics) == {"queues": []}


def _fill(body: dict[str, Any], task: str) -> dict[str, Any]:
    return {k: task if v == "@" else v for k, v in body.items()}


def _company(api: Api) -> str:
    return str(api.credential.company)  # type: ignore[attr-defined]


FILTERS: list[dict[str, Any]] = [
    {},
    {"search_hidden": True},
    {"id": ["__$or", "@"]},
    {"id": ["__$all", "@"]},
    {"id": ["__$not", "nothing"]},
    {"id": ["-nothing", None]},
    {"user": ["__$any", None, "-x"]},
    {"project": [None, "__$not", None]},
    {"parent": ["__$not", None]},
    {"tags": ["__$nop", "-nothing"]},
    {"tags": ["__$any", "t", "__$not", "x"]},
    {"status": ["-created"]},
    {"name": ".*"},
    {"name": "(?i)SECRET"},
    {"comment": "^"},
    {"search_text": "@"},
    {"search_text": "secret"},
    {"company": "@company"},
    {"company": ["@company"], "user": ["alice", "mallory"]},
    {
        "last_metrics.6f8f57715090da2632453988d9a1501b.d41d8cd98f00b204e9800998ecf8427e.value": [
            None,
            1e308,
        ]
    },
    {"only_fields": ["company", "user", "name"]},
    {"only_fields": ["-id", "company"]},
    {"only_fields": ["company.name", "execution.queue"]},
]


@pytest.mark.parametrize("body", FILTERS, ids=[json.dumps(f)[:60] for f in FILTERS])
def test_get_all_filters_never_reach_another_company(
    body: dict[str, Any], owner: Owner, stranger: Api
) -> None:
    filled = json.loads(
        json.dumps(body)
        .replace('"@company"', json.dumps(_company(owner.api)))
        .replace("@", owner.task)
    )
    found = stranger.ok("tasks.get_all", {"search_hidden": True, **filled})["tasks"]
    text_of = json.dumps(found)
    assert owner.task not in text_of
    assert owner.queued not in text_of
    assert _company(owner.api) not in text_of
    assert "secret" not in text_of
    assert all(t.get("company", _company(stranger)) == _company(stranger) for t in found)


def test_the_same_filters_do_reach_the_owners_own_tasks(owner: Owner) -> None:
    """The filters above are not vacuous: the owner, asking the same, finds its task."""
    got = owner.api.ok("tasks.get_all", {"search_text": "secret", "only_fields": ["company"]})
    assert {t["id"] for t in got["tasks"]} == {owner.task, owner.queued}
    assert {t["company"] for t in got["tasks"]} == {_company(owner.api)}


def test_company_and_user_in_bodies_are_ignored_everywhere(owner: Owner, stranger: Api) -> None:
    theirs, mine = _company(owner.api), _company(stranger)
    planted = {"company": theirs, "user": "alice"}
    task = stranger.ok("tasks.create", {"name": "planted", "type": "training", **planted})["id"]
    stranger.ok("tasks.edit", {"task": task, "comment": "x", **planted})
    assert owner.api.error("tasks.get_by_id", {"task": task})[:2] == (400, 101)
    got = stranger.ok("tasks.get_by_id", {"task": task, **planted})["task"]
    assert (got["company"], got["user"]) == (mine, "mallory")
    project = stranger.ok("projects.create", {"name": "owner project", **planted})["id"]
    assert stranger.ok("projects.get_by_id", {"project": project})["project"]["company"] == mine
    names = stranger.ok("projects.get_all", {"name": ".*", "company": theirs})["projects"]
    assert {p["company"] for p in names} == {mine}
    assert owner.project not in json.dumps(names)
    assert stranger.ok("projects.get_all", {"id": [owner.project]})["projects"] == []
    waits = stranger.ok("analytics.queue_waits", {"project": "owner project", **planted})
    assert owner.queued not in json.dumps(waits)
    assert stranger.error("tasks.get_all", {"order_by": ["company"]})[:2] == (400, 16)


def test_a_request_id_reused_by_another_company_never_returns_the_first_answer(
    owner: Owner, stranger: Api, e2e_engine: Engine
) -> None:
    key = {"X-Request-Id": f"shared-{uuid.uuid4().hex}"}
    created = owner.api.ok("tasks.create", {"name": "once", "type": "training"})["id"]
    first = owner.api.ok("tasks.started", {"task": created}, headers=key)
    events = _owner_streams(e2e_engine, created)
    for _ in range(2):  # the same body, the same key: the stranger still gets its own answer
        assert stranger.error("tasks.started", {"task": created}, headers=key)[:2] == (400, 101)
    assert owner.api.ok("tasks.started", {"task": created}, headers=key) == first
    assert _owner_streams(e2e_engine, created) == events

    body = {"name": "same body", "type": "training"}
    key2 = {"X-Request-Id": f"create-{uuid.uuid4().hex}"}
    a = owner.api.ok("tasks.create", body, headers=key2)["id"]
    b = stranger.ok("tasks.create", body, headers=key2)["id"]
    assert a != b
    assert stranger.ok("tasks.get_by_id", {"task": b})["task"]["company"] == _company(stranger)
    assert owner.api.ok("tasks.create", body, headers=key2)["id"] == a

    report = {"task": owner.task, "type": SCALAR, "metric": "m", "value": 2, "iter": 2}
    key3 = {"X-Request-Id": f"report-{uuid.uuid4().hex}"}
    assert owner.api.ok("events.add", report, headers=key3)["added"] == 1
    assert stranger.error("events.add", report, headers=key3)[:2] == (400, 131)
