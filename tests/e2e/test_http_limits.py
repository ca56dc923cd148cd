"""Every limit of docs/reliability.md ("Limits") on a server with small configured limits: a
request at the limit works, one past it is refused with a clear 4xx and writes nothing, and a
read that runs too long is cancelled without holding up other clients."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.domain.limits import (
    MAX_FILTER_VALUES,
    MAX_JSON_DEPTH,
    MAX_KEY_LENGTH,
    MAX_METRIC_PAIRS_IN_FILTER,
    MAX_ONLY_FIELDS,
    MAX_ORDER_KEYS,
    MAX_PATTERN_LENGTH,
)
from tasktrack.store import credentials
from tests.e2e.dbstate import fingerprint
from tests.e2e.http import Api, basic, serving

BODY = 64_000
EVENTS = 5
IDS = 3
READ_TIMEOUT_MS = 400
SCALAR = "training_stats_scalar"
WIDE = "\U0001d11e"  # four bytes of UTF-8: a key at the limit is also at its largest


@pytest.fixture(scope="module")
def limited(e2e_database: str, e2e_engine: Engine) -> Iterator[tuple[Api, Api]]:
    """Two callers of a server with small configured limits."""
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_MAX_BODY_BYTES": str(BODY),
        "TASKTRACK_MAX_BATCH_EVENTS": str(EVENTS),
        "TASKTRACK_MAX_BATCH_IDS": str(IDS),
        "TASKTRACK_READ_TIMEOUT_MS": str(READ_TIMEOUT_MS),
    }
    with serving(env) as base:
        apis = []
        for user in ("lim", "other"):
            with e2e_engine.begin() as conn:
                cred = credentials.create(conn, f"limits-{uuid.uuid4().hex[:8]}", user)
            apis.append(Api(base, basic(cred.access_key, cred.secret_key)))
        yield apis[0], apis[1]
        for api in apis:
            api.close()


@pytest.fixture
def api(limited: tuple[Api, Api]) -> Api:
    return limited[0]


def _status(api: Api, endpoint: str, body: Any, **kw: Any) -> tuple[int, int]:
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    response = api.raw(endpoint, content, **kw)
    meta = response.json()["meta"]
    assert meta["result_code"] == response.status_code
    return response.status_code, meta["result_subcode"]


def _refused(
    api: Api, engine: Engine, endpoint: str, body: Any, code: tuple[int, int], **kw: Any
) -> None:
    before = fingerprint(engine)
    assert _status(api, endpoint, body, **kw) == code
    assert fingerprint(engine) == before


def _task(api: Api) -> str:
    return str(api.ok("tasks.create", {"name": "limited", "type": "training"})["id"])


def test_the_body_size_limit(api: Api, e2e_engine: Engine) -> None:
    def body(size: int) -> str:
        start = '{"name": "sized", "type": "training", "comment": "'
        return start + "c" * (size - len(start) - 2) + '"}'

    assert len(body(BODY)) == BODY
    assert _status(api, "tasks.create", body(BODY)) == (200, 0)
    _refused(api, e2e_engine, "tasks.create", body(BODY + 1), (413, 0))


def test_the_events_per_batch_limit(api: Api, e2e_engine: Engine) -> None:
    task = _task(api)

    def lines(n: int) -> str:
        event = {"task": task, "type": SCALAR, "metric": "m", "value": 1}
        return "\n".join(json.dumps({**event, "iter": i}) for i in range(n))

    response = api.raw("events.add_batch", lines(EVENTS))
    assert response.json()["data"]["added"] == EVENTS
    _refused(api, e2e_engine, "events.add_batch", lines(EVENTS + 1), (400, 12))


@pytest.mark.parametrize(
    ("endpoint", "key", "extra"),
    [
        ("tasks.archive_many", "ids", {}),
        ("tasks.dequeue_many", "ids", {}),
        ("tasks.archive", "tasks", {}),
        ("tasks.update_tags", "ids", {"add_tags": ["x"]}),
    ],
)
def test_the_ids_per_batch_limit(
    api: Api, e2e_engine: Engine, endpoint: str, key: str, extra: dict[str, Any]
) -> None:
    tasks = [_task(api) for _ in range(IDS + 1)]
    assert _status(api, endpoint, {key: tasks[:IDS], **extra}) == (200, 0)
    _refused(api, e2e_engine, endpoint, {key: tasks, **extra}, (400, 12))


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [("tasks.get_all", "id"), ("tasks.get_all", "tags"), ("projects.get_all", "id")],
)
def test_the_values_per_filter_limit(api: Api, endpoint: str, field: str) -> None:
    values = [f"v{i}" for i in range(MAX_FILTER_VALUES + 1)]
    assert _status(api, endpoint, {field: values[:MAX_FILTER_VALUES]}) == (200, 0)
    assert _status(api, endpoint, {field: values}) == (400, 16)


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        ("tasks.get_all", "name"),
        ("tasks.get_all", "comment"),
        ("tasks.get_all", "search_text"),
        ("projects.get_all", "name"),
    ],
)
def test_the_pattern_length_limit(api: Api, endpoint: str, field: str) -> None:
    assert _status(api, endpoint, {field: "a" * MAX_PATTERN_LENGTH}) == (200, 0)
    assert _status(api, endpoint, {field: "a" * (MAX_PATTERN_LENGTH + 1)}) == (400, 16)


def test_the_metric_pairs_order_keys_and_only_fields_limits(api: Api) -> None:
    def pairs(n: int) -> dict[str, Any]:
        return {f"last_metrics.{i:032x}.{'b' * 32}.value": [0, 1] for i in range(n)}

    assert _status(api, "tasks.get_all", pairs(MAX_METRIC_PAIRS_IN_FILTER)) == (200, 0)
    assert _status(api, "tasks.get_all", pairs(MAX_METRIC_PAIRS_IN_FILTER + 1)) == (400, 16)
    order = [f"-last_metrics.{i:032x}.{'b' * 32}.value" for i in range(MAX_METRIC_PAIRS_IN_FILTER)]
    joined = {**pairs(MAX_METRIC_PAIRS_IN_FILTER // 2), "order_by": order}  # 10 shared + 10 new
    assert _status(api, "tasks.get_all", joined) == (200, 0)
    keys = ["name", "-created"] * MAX_ORDER_KEYS
    assert _status(api, "tasks.get_all", {"order_by": keys[:MAX_ORDER_KEYS]}) == (200, 0)
    assert _status(api, "tasks.get_all", {"order_by": keys[: MAX_ORDER_KEYS + 1]}) == (400, 16)
    fields = [f"f{i}" for i in range(MAX_ONLY_FIELDS + 1)]
    assert _status(api, "tasks.get_all", {"only_fields": fields[:MAX_ONLY_FIELDS]}) == (200, 0)
    assert _status(api, "tasks.get_all", {"only_fields": fields}) == (400, 12)


def test_the_key_length_limit_holds_for_the_widest_characters(api: Api, e2e_engine: Engine) -> None:
    """255 characters of four bytes each still fit the indexes; 256 are refused up front."""
    at, over = WIDE * MAX_KEY_LENGTH, WIDE * (MAX_KEY_LENGTH + 1)
    task = _task(api)
    cases: list[tuple[str, Any]] = [
        ("tasks.create", lambda k: {"name": "keys", "type": "training", "tags": [k]}),
        ("tasks.create", lambda k: {"name": "keys", "type": "training", "project": k}),
        ("tasks.update", lambda k: {"task": task, "system_tags": [k]}),
        ("tasks.update_tags", lambda k: {"ids": [task], "add_tags": [k]}),
        ("tasks.enqueue", lambda k: {"task": task, "queue_name": k, "force": True}),
        ("projects.create", lambda k: {"name": k}),
    ]
    for endpoint, body in cases:
        assert _status(api, endpoint, body(at)) == (200, 0), endpoint
        _refused(api, e2e_engine, endpoint, body(over), (400, 12))
    request_id = {"X-Request-Id": "r" * MAX_KEY_LENGTH}  # headers are ASCII
    assert _status(api, "tasks.ping", {"task": task}, headers=request_id) == (200, 0)
    too_long = {"X-Request-Id": "r" * (MAX_KEY_LENGTH + 1)}
    _refused(api, e2e_engine, "tasks.ping", {"task": task}, (400, 12), headers=too_long)
    api.ok("tasks.started", {"task": task, "force": True})
    event = {"task": task, "type": SCALAR, "value": 1, "iter": 1}
    assert _status(api, "events.add", {**event, "metric": at, "variant": at}) == (200, 0)
    _refused(api, e2e_engine, "events.add", {**event, "metric": over}, (400, 131))


def test_the_nesting_depth_limit(api: Api, e2e_engine: Engine) -> None:
    """The body object counts as one level: `runtime` as the second."""
    task = _task(api)

    def runtime(depth: int) -> str:
        inner = "[" * (depth - 2) + "]" * (depth - 2)
        return '{"name": "deep", "type": "training", "runtime": {"x": ' + inner + "}}"

    def plot(depth: int) -> str:
        inner = "[" * (depth - 1) + "]" * (depth - 1)
        return '{"task": "' + task + '", "type": "plot", "x": ' + inner + "}"

    assert _status(api, "tasks.create", runtime(MAX_JSON_DEPTH)) == (200, 0)
    _refused(api, e2e_engine, "tasks.create", runtime(MAX_JSON_DEPTH + 1), (400, 12))
    assert _status(api, "events.add", plot(MAX_JSON_DEPTH)) == (200, 0)
    _refused(api, e2e_engine, "events.add", plot(MAX_JSON_DEPTH + 1), (400, 12))
    batch = api.raw("events.add_batch", plot(MAX_JSON_DEPTH) + "\n" + plot(MAX_JSON_DEPTH + 1))
    data = batch.json()["data"]
    assert (data["added"], data["errors"]) == (1, 1), data  # each event on its own


def test_a_read_past_the_timeout_is_cancelled_and_others_are_answered_meanwhile(
    limited: tuple[Api, Api],
) -> None:
    """A regular expression with back-references over a long name takes PostgreSQL about ten
    seconds; the read timeout cancels it (400/16), and another client is served meanwhile."""
    api, other = limited
    api.ok("tasks.create", {"name": "a" * 1200 + "c", "type": "training"})
    outcome: list[tuple[int, int, float]] = []

    def slow() -> None:
        start = time.monotonic()
        status = _status(api, "tasks.get_all", {"name": "(.*)(.*)(.*)\\1\\2\\3c"})
        outcome.append((*status, time.monotonic() - start))

    thread = threading.Thread(target=slow)
    thread.start()
    answered_meanwhile = 0
    while thread.is_alive():
        assert other.ok("tasks.get_all", {"page_size": 1})["tasks"] == []
        answered_meanwhile += 1
    thread.join()
    ((code, subcode, seconds),) = outcome
    assert (code, subcode) == (400, 16)
    assert READ_TIMEOUT_MS / 1000 <= seconds < 5
    assert answered_meanwhile >= 2
