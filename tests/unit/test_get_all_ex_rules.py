"""get_all_ex's pure rules: structured filters, _any_/_all_, scroll windows, references,
only_fields containers, and answers in ClearML's shapes (datetimes, the task object's schema)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.domain.state import TaskState
from tasktrack.domain.values import Artifact, Execution
from tasktrack.http.scrolling import scrolls
from tasktrack.http.scrolling import window as scroll_window
from tasktrack.http.task_endpoints import GetAllEx
from tasktrack.queries import references
from tasktrack.queries.filter_language import OrderKey, parse_order
from tasktrack.queries.filter_more import MultiField, list_filters, parse_multi
from tasktrack.queries.filter_request import GetAllRequest, plan, request_from
from tasktrack.queries.shaping import clearml_json, only_fields
from tasktrack.queries.views import task_view

TEXTS = frozenset({"name", "id", "comment"})


def test_a_condition_key_that_is_not_any_all_or_op_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        request_from({"filters": {"tags": {"test": ["1"]}}}, GetAllRequest)
    with pytest.raises(InvalidRequest):
        request_from({"filters": {"tags": {"any": {"include": "a"}}}}, GetAllRequest)
    with pytest.raises(InvalidRequest):
        request_from({"filters": {"tags": {"op": "xor"}}}, GetAllRequest)


def test_filters_on_unknown_fields_are_ignored_and_a_filtered_field_leaves_its_list() -> None:
    r = request_from(
        {"tags": ["x"], "filters": {"tags": {"any": {"include": ["a"]}}, "nope": {}}},
        GetAllRequest,
    )
    assert set(list_filters(r.filters, frozenset({"tags"}))) == {"tags"}
    planned = plan(r)
    assert "tags" not in planned.lists
    assert set(planned.field_filters) == {"tags"}


def test_any_all_take_exactly_one_of_pattern_and_datetime() -> None:
    with pytest.raises(InvalidRequest):
        parse_multi("or", MultiField(fields=["name"]), TEXTS)
    with pytest.raises(InvalidRequest):
        parse_multi("or", MultiField(fields=["name"], pattern="a", datetime=">2024-01-01"), TEXTS)
    with pytest.raises(BadFilter):
        parse_multi("and", MultiField(fields=["last_update"], datetime=">=yesterday"), TEXTS)


def test_any_all_keep_only_the_fields_that_can_take_the_condition() -> None:
    dates = parse_multi(
        "and", MultiField(fields=["name", "last_update"], datetime=">=2024-01-01"), TEXTS
    )
    assert dates is not None
    assert dates.fields == ("last_update",)
    assert parse_multi("or", MultiField(fields=["name"], datetime=">=2024-01-01"), TEXTS) is None
    text = parse_multi(
        "or", MultiField(fields=["name", "script.repository", "tags"], pattern="x"), TEXTS
    )
    assert text is not None
    assert text.fields == ("name", "script.repository")


def test_orders_by_document_paths_with_hyperparams_values() -> None:
    keys = parse_order(
        ["hyperparams.s.p", "-hyperparams.s.q.value", "execution.framework"],
        frozenset(),
        False,
    )
    assert keys[:3] == [
        OrderKey("hyperparams", False, path=("s", "p", "value")),
        OrderKey("hyperparams", True, path=("s", "q", "value")),
        OrderKey("execution", False, path=("framework",)),
    ]
    # The legacy execution.parameters are kept as hyperparams.Args (domain/legacy.py).
    (legacy,) = parse_order(["execution.parameters.x"], frozenset(), False)[:1]
    assert legacy == OrderKey("hyperparams", False, path=("Args", "x", "value"))
    with pytest.raises(BadFilter):
        parse_order(["nosuch.path"], frozenset(), False)


def test_order_by_null_is_no_order() -> None:
    assert [k.field for k in plan(request_from({"order_by": None}, GetAllRequest)).order] == ["id"]


def _ex(**body: Any) -> GetAllEx:
    return request_from(body, GetAllEx)


def test_scroll_windows() -> None:
    assert scrolls(_ex()) is False
    assert scrolls(_ex(scroll_id=None, size=10)) is True
    assert scroll_window(_ex(scroll_id=None, size=10), 0) == (0, 10)
    assert scroll_window(_ex(scroll_id="s", size=10), 20) == (20, 10)
    # A refresh brings everything from the start to where the scroll had got (a page at least).
    assert scroll_window(_ex(scroll_id="s", size=10, refresh_scroll=True), 20) == (0, 20)
    assert scroll_window(_ex(scroll_id="s", size=10, refresh_scroll=True), 4) == (0, 10)
    with pytest.raises(InvalidRequest):
        scrolls(_ex(scroll_id="s"))
    with pytest.raises(InvalidRequest):
        scrolls(_ex(scroll_id=None, size=0))


def test_references_answer_the_project_as_an_object() -> None:
    docs = [
        {"id": "t1", "name": "a", "project": "p1", "user": "u1"},
        {"id": "t2", "name": "b", "project": "gone", "user": "u1"},
        {"id": "t3", "name": "c"},
    ]
    projects = {"p1": {"id": "p1", "name": "Proj", "description": "d"}}
    fields = ["name", "project.name", "user.name"]
    assert references.project_ids(docs) == ["gone", "p1"]
    assert references.resolve(docs, fields, projects) == [
        {
            "id": "t1",
            "name": "a",
            "project": {"id": "p1", "name": "Proj"},
            "user": {"id": "u1", "name": "u1"},
        },
        {"id": "t2", "name": "b", "project": {"id": "gone"}, "user": {"id": "u1", "name": "u1"}},
        {"id": "t3", "name": "c"},
    ]


def test_only_fields_keeps_the_objects_on_a_missing_paths_way() -> None:
    doc = {"id": "t", "runtime": {}, "a": {"b": {"c": 1}}, "s": "x"}
    assert only_fields(doc, ["id", "runtime.version"]) == {"id": "t", "runtime": {}}
    assert only_fields(doc, ["a.b.d", "a.x.y", "s.t", "zz.q"]) == {"id": "t", "a": {"b": {}}}


def test_datetimes_are_answered_with_an_explicit_utc_offset() -> None:
    at = datetime(2024, 5, 1, 10, 0, 0, 5, tzinfo=UTC)
    assert clearml_json({"a": [at, {"b": at.replace(microsecond=0)}], "c": "2024Z"}) == {
        "a": ["2024-05-01T10:00:00.000005+00:00", {"b": "2024-05-01T10:00:00+00:00"}],
        "c": "2024Z",  # a string stays as it is, even one that looks like a time
    }


# ClearML's `task` object (tasks.conf, definitions.task), the JSON type of each property.
_SCHEMA = {
    "id": str, "name": str, "user": str, "company": str, "type": str, "status": str,
    "comment": str, "created": str, "started": str, "completed": str, "active_duration": int,
    "parent": str, "project": str, "output": dict, "execution": dict, "container": dict,
    "models": dict, "script": dict, "tags": list, "system_tags": list, "status_changed": str,
    "status_message": str, "status_reason": str, "published": str, "last_worker": str,
    "last_worker_report": str, "last_update": str, "last_change": str, "last_iteration": int,
    "last_metrics": dict, "hyperparams": dict, "configuration": dict, "runtime": dict,
    "last_changed_by": str, "enqueue_status": str,
}  # fmt: skip
# Containers ClearML always answers, with their defaults.
_DEFAULTS = {
    "execution": {"artifacts": []},
    "script": {"binary": "python", "repository": "", "entry_point": ""},
    "models": {"input": [], "output": []},
    "output": {},
    "hyperparams": {},
    "configuration": {},
    "container": {},
    "runtime": {},
    "last_metrics": {},
}


def _answer(state: TaskState) -> dict[str, Any]:
    answered: dict[str, Any] = clearml_json(task_view(state))
    answered.pop("stream_version")  # tasktrack's own field
    return answered


def test_a_new_tasks_answer_matches_clearmls_task_schema_field_by_field() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    state = TaskState(id="t" * 32, name="new", user="u", company="c", type="training",
                      status="created", created=now, tags=[], system_tags=[])  # fmt: skip
    answered = _answer(state)
    for field, value in answered.items():
        assert field in _SCHEMA, field
        assert isinstance(value, _SCHEMA[field]), (field, value)
    for field, default in _DEFAULTS.items():
        assert answered[field] == default, field
    assert answered["created"] == "2024-05-01T00:00:00+00:00"
    datetime.fromisoformat(answered["created"])  # what ClearML's SDK parses


def test_artifacts_keep_their_mode_and_every_time_field_is_clearmls_format() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    state = TaskState(id="t" * 32, name="new", user="u", company="c", type="training",
                      status="in_progress", created=now, tags=[], system_tags=[],
                      started=now + timedelta(seconds=1),
                      execution=Execution(artifacts=[Artifact(key="a", type="str")]))  # fmt: skip
    answered = _answer(state)
    assert answered["execution"]["artifacts"] == [{"key": "a", "type": "str", "mode": "output"}]
    assert answered["started"] == "2024-05-01T00:00:01+00:00"
    assert msgspec.json.decode(msgspec.json.encode(answered)) == answered


def test_company_ids_answer_as_objects() -> None:
    docs = [{"id": "t1", "company": "acme"}, {"id": "t2", "company": ""}, {"id": "t3"}]
    assert references.company_objects(docs) == [
        {"id": "t1", "company": {"id": "acme", "name": "acme"}},
        {"id": "t2", "company": ""},
        {"id": "t3"},
    ]
