"""The get_all filter language, parsed (no database): tokens, ranges, dates, order, the body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from msgspec import UNSET
from sqlalchemy.dialects import postgresql

from tasktrack.domain.errors import BadFilter, DomainError, InvalidRequest
from tasktrack.http.bodies import decode
from tasktrack.http.endpoints import ENDPOINTS, GetAll
from tasktrack.queries import filters
from tasktrack.queries.filter_language import (
    DateTest,
    Interval,
    ListFilter,
    MetricField,
    OrderKey,
    parse_dates,
    parse_list,
    parse_metric_path,
    parse_number_range,
    parse_order,
)
from tasktrack.queries.filter_request import (
    LIST_FIELDS,
    ORDERABLE,
    GetAllRequest,
    plan,
    request_from,
)

MH = "5f4dcc3b5aa765d61d8327deb882cf99"
VH = "098f6bcd4621d373cade4e832627b4f6"
ALL = frozenset(ORDERABLE)


def lf(**kw: Any) -> ListFilter:
    return ListFilter(**kw)


def bad(call: Any, *args: Any) -> DomainError:
    with pytest.raises(BadFilter) as caught:
        call(*args)
    assert caught.value.codes == (400, 16)
    return caught.value


# --- list fields: the token language ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", lf(any_of=("a",))),
        (["b", "a", "b"], lf(any_of=("a", "b"))),
        (["a", "-b"], lf(any_of=("a",), none_of=("b",))),
        ("-b", lf(none_of=("b",))),
        (["--b"], lf(none_of=("-b",))),
        (None, lf(or_missing=True)),
        ([None, "a"], lf(any_of=("a",), or_missing=True)),
        (["__$all", "a", "b"], lf(operator="and", all_of=("a", "b"))),
        (["__$and", "a"], lf(operator="and", all_of=("a",))),
        (["__$any", "a", "b"], lf(operator="or", any_of=("a", "b"))),
        (["__$or", "a"], lf(operator="or", any_of=("a",))),
        # the first operator token is the global operator, later ones only switch context
        (
            ["__$any", "a", "__$all", "b", "c"],
            lf(operator="or", any_of=("a",), all_of=("b", "c")),
        ),
        (
            ["__$all", "a", "__$any", "b", "c"],
            lf(operator="and", any_of=("b", "c"), all_of=("a",)),
        ),
        # after an operator token `-` is an ordinary character ...
        (["__$all", "-a"], lf(all_of=("-a",))),
        (["__$any", "-a", "b"], lf(operator="or", any_of=("-a", "b"))),
        # ... until __$nop, which also returns to any-of
        (["__$all", "a", "__$nop", "-b", "c"], lf(all_of=("a",), any_of=("c",), none_of=("b",))),
        # __$not negates the next value only, and takes it literally
        (["__$not", "a", "b"], lf(any_of=("b",), none_of=("a",))),
        (["__$not", "-a"], lf(none_of=("-a",))),
        (["__$all", "__$not", "a", "b"], lf(all_of=("b",), none_of=("a",))),
        (["__$any", "a", "__$not", "b"], lf(operator="or", any_of=("a",), none_of=("b",))),
        (["__$not", None], lf(has_value=True)),
        # a value before any operator token fixes the global operator at the default ("and")
        (["-a", "__$or", "b", "c"], lf(operator="and", any_of=("b", "c"), none_of=("a",))),
        (["__$nop", "__$or", "a", "-b"], lf(operator="and", any_of=("-b", "a"))),
        # nothing to match: no condition
        ([], lf()),
        (["__$all"], lf(operator="and")),
    ],
)
def test_list_tokens_parse_into_groups(value: Any, expected: ListFilter) -> None:
    assert parse_list("tags", value) == expected


def test_a_list_without_values_is_no_condition_but_null_is_one() -> None:
    assert parse_list("tags", []).unconstrained
    assert parse_list("tags", ["__$any", "__$nop"]).unconstrained
    assert not parse_list("tags", [None]).unconstrained
    assert not parse_list("tags", ["__$not", None]).unconstrained


@pytest.mark.parametrize(
    "value",
    [
        ["__$xyz", "a"],
        ["__$ALL", "a"],
        ["a", "__$"],
        ["__$not"],
        ["a", "__$not"],
        ["__$not", "__$all", "a"],
        ["__$not", "__$nop", "a"],
        ["__$not", "__$not", "a"],
        ["-"],
        ["a", "-"],
    ],
)
def test_bad_tokens_are_400_16(value: list[str]) -> None:
    error = bad(parse_list, "tags", value)
    assert error.data["field"] == "tags"


def test_the_unknown_operator_is_named() -> None:
    assert "__$xyz" in bad(parse_list, "status", ["__$xyz"]).message


# --- ranges, datetimes, metrics, order -------------------------------------------------------


def test_number_ranges() -> None:
    assert parse_number_range("f", (1, None)) == Interval(1, None)
    assert parse_number_range("f", (None, "2.5")) == Interval(None, 2.5)
    assert parse_number_range("f", ("-3", 4.0)) == Interval(-3, 4.0)
    for pair in [(None, None), ("x", 1), (float("nan"), 1), (1, "inf"), ("", 1)]:
        bad(parse_number_range, "f", pair)


def test_datetime_conditions() -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_dates("last_update", ">2024-05-01") == [DateTest(">", at)]
    assert parse_dates("last_update", "2024-05-01T00:00:00Z") == [DateTest("==", at)]
    assert parse_dates("last_update", [">=2024-05-01", "<2024-06-01T00:00:00+00:00"]) == [
        DateTest(">=", at),
        DateTest("<", datetime(2024, 6, 1, tzinfo=UTC)),
    ]
    two = timezone(timedelta(hours=2))
    assert parse_dates("x", ["<=2024-05-01T02:00:00+02:00"]) == [
        DateTest("<=", datetime(2024, 5, 1, 2, tzinfo=two))
    ]
    # a pair without prefixes is an inclusive range
    assert parse_dates("x", ["2024-05-01", None]) == Interval(at, None)
    assert parse_dates("x", [None, "2024-05-01"]) == Interval(None, at)
    # a pair with a prefix is two conditions
    assert parse_dates("x", ["2024-05-01", "<2024-06-01"]) == [
        DateTest("==", at),
        DateTest("<", datetime(2024, 6, 1, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    "value",
    [[None, None], "yesterday", ">", ">=nope", [None], [">2024-01-01", None], "=2024-01-01"],
)
def test_bad_datetime_conditions_are_400_16(value: Any) -> None:
    bad(parse_dates, "last_update", value)


def test_metric_paths() -> None:
    assert parse_metric_path(f"{MH}.{VH}.value") == MetricField(MH, VH, "value")
    assert parse_metric_path(f"{MH}.{VH}.count").field == "count"
    for path in [
        f"{MH}.{VH}",
        f"{MH}.{VH}.value.x",
        f"{MH}.{VH}.metric",
        f"{MH}.{VH}.x_axis_label",
        f"loss.{VH}.value",
        f"{MH.upper()}.{VH}.value",
        f"{MH}.{VH}.value'; DROP TABLE tasks; --",
    ]:
        bad(parse_metric_path, path)


def test_order_keys() -> None:
    assert parse_order(["-name"], ALL, False) == [OrderKey("name", True), OrderKey("id", False)]
    assert parse_order(["-id", "name"], ALL, False) == [
        OrderKey("id", True),
        OrderKey("name", False),
    ]
    assert parse_order([f"-last_metrics.{MH}.{VH}.value"], ALL, False) == [
        OrderKey("last_metrics", True, MetricField(MH, VH, "value")),
        OrderKey("id", False),
    ]
    assert parse_order(["@text_score", "name"], ALL, True) == [
        OrderKey("name", False),
        OrderKey("id", False),
    ]
    for keys in [["@text_score"], ["nope"], ["-"], [""], ["name; DROP TABLE tasks"], ["output"]]:
        bad(parse_order, keys, ALL, False)


# --- the request: body types (400/12) and the plan (400/16) ----------------------------------


def test_request_types_are_checked_as_400_12() -> None:
    bodies: list[dict[str, Any]] = [
        {"tags": [1]},
        {"tags": {"a": 1}},
        {"created": ["2024-01-01"]},
        {"created": [1, 2]},
        {"active_duration": [True, 1]},
        {"page": "x"},
        {"last_metrics.a.b.value": [1]},
        {"name": ["a"]},
        {"order_by": [1]},
        {"search_text": "a\x00b"},
        {"tags": ["a", "\x00"]},
    ]
    for body in bodies:
        with pytest.raises(InvalidRequest) as caught:
            request_from(body, GetAllRequest)
        assert caught.value.codes == (400, 12), body


def test_request_gathers_metric_keys_and_ignores_unknown_ones() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    r = request_from(
        {
            f"last_metrics.{MH}.{VH}.value": [0, "1"],
            f"last_metrics.{MH}.{VH}.count": None,
            "last_metrics": {"x": [1, 2]},
            "started": [when, None],
            "execution.queue": None,
            "bogus": 1,
        },
        GetAllRequest,
    )
    assert r.last_metrics == {f"{MH}.{VH}.value": (0, "1")}
    assert r.started == (when.isoformat(), None)
    assert r.execution_queue is None
    assert r.tags is UNSET


def test_plan_checks_paging_and_hidden() -> None:
    assert "page" in bad(plan, GetAllRequest(page=-1)).message
    assert "page" in bad(plan, GetAllRequest(page_size=0)).message
    assert plan(GetAllRequest(page=2, page_size=1000)).limit == 500
    assert plan(GetAllRequest(page=2, page_size=1000)).offset == 1000
    assert plan(GetAllRequest(page=2**62, page_size=500)).offset == 2**63 - 1
    assert not plan(GetAllRequest()).include_hidden
    assert not plan(GetAllRequest(id=[])).include_hidden
    assert plan(GetAllRequest(id="x")).include_hidden
    assert plan(GetAllRequest(search_hidden=True)).include_hidden


def test_plan_keeps_only_real_conditions() -> None:
    p = plan(GetAllRequest(tags=[], status="created", project=None, name="", search_text=" n "))
    assert set(p.lists) == {"status", "project"}
    assert p.lists["project"] == lf(or_missing=True)
    assert p.patterns == {}
    assert p.search_text == "n"
    bad(plan, GetAllRequest(order_by="nope"))
    bad(plan, GetAllRequest(created=(None, None)))
    bad(plan, GetAllRequest(last_metrics={"a.b.value": (1, 2)}))


def test_every_field_name_has_a_column() -> None:
    assert set(LIST_FIELDS) | ORDERABLE <= set(filters.COLUMNS)


def test_values_reach_sql_only_as_bound_parameters() -> None:
    hostile = "x'); DROP TABLE tasks; --"
    request = GetAllRequest(tags=[hostile], name=hostile, search_text=hostile)
    stmt = filters.select_tasks([filters.COLUMNS["id"]], "co", plan(request))
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    assert "DROP" not in str(compiled)
    assert [hostile] in compiled.params.values()
    assert hostile in compiled.params.values()


# --- the HTTP body -----------------------------------------------------------------------------


def test_the_http_body_takes_the_whole_language() -> None:
    spec = ENDPOINTS["tasks.get_all"]
    body = (
        b'{"tags": ["__$all", "a", null], "project": null, "status": "created",'
        b' "execution.queue": ["q"], "last_update": ">=2024-01-01",'
        b' "last_metrics.' + MH.encode() + b"." + VH.encode() + b'.value": [null, 0.5],'
        b' "created": ["2024-01-01", null], "only_fields": ["name", "-tags"], "x": 1}'
    )
    got = decode(spec, body)
    assert isinstance(got, GetAll)
    assert got.tags == ["__$all", "a", None]
    assert got.project is None
    assert got.execution_queue == ["q"]
    assert got.last_metrics == {f"{MH}.{VH}.value": (None, 0.5)}
    assert got.only_fields == ["name", "-tags"]
    assert plan(got).lists["tags"] == lf(all_of=("a",), or_missing=True)


@pytest.mark.parametrize("body", [b'{"tags": [1]}', b"[1]", b"{", b'{"page_size": "10"}'])
def test_a_malformed_http_body_is_400_12(body: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(ENDPOINTS["tasks.get_all"], body)
    assert caught.value.codes == (400, 12)
