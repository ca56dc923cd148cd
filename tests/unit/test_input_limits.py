"""Fixed input limits and the event and filter fixes the fuzzing called for (pure)."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from sqlalchemy.dialects import postgresql

from tasktrack.domain import commands as cmd
from tasktrack.domain import metrics, reports
from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.domain.limits import (
    MAX_FILTER_VALUES,
    MAX_KEY_LENGTH,
    MAX_METRIC_PAIRS_IN_FILTER,
    MAX_ORDER_KEYS,
    MAX_PATTERN_LENGTH,
)
from tasktrack.queries import filters
from tasktrack.queries.filter_language import Interval
from tasktrack.queries.filter_request import GetAllRequest, plan, request_from
from tasktrack.store.tables import task_metrics

NOW = 1_700_000_000_000
AT = "k" * MAX_KEY_LENGTH
OVER = "k" * (MAX_KEY_LENGTH + 1)


def scalar(**fields: Any) -> dict[str, Any]:
    return {"task": "t", "type": metrics.SCALAR, "metric": "m", "value": 1.0, **fields}


@pytest.mark.parametrize("timestamp", [math.nan, math.inf, -math.inf, 1e300, 2**63, -(2**64)])
def test_a_timestamp_must_be_a_finite_int64_of_epoch_ms(timestamp: float) -> None:
    """NaN and infinite timestamps once crashed the request (int(nan)); huge ones were kept."""
    assert metrics.parse(scalar(timestamp=timestamp), NOW) == metrics.TIMESTAMP_ERROR
    log = {"task": "t", "type": "log", "msg": "m", "timestamp": timestamp}
    assert reports.classify(log, NOW) == metrics.TIMESTAMP_ERROR


def test_timestamps_at_the_ends_of_int64_are_kept() -> None:
    """A log line's timestamp is an integer; a scalar's is read as a double (so 2**63 - 1
    rounds up to 2**63, past the end)."""
    for edge in (2**63 - 1, -(2**63)):
        log = reports.classify({"task": "t", "type": "log", "timestamp": edge}, NOW)
        assert isinstance(log, reports.LogLine)
        assert log.timestamp == edge
    assert reports.classify({"task": "t", "type": "log", "timestamp": -(2**63) - 1}, NOW) == (
        metrics.TIMESTAMP_ERROR
    )
    for edge in (2**62, -(2**63)):
        point = metrics.parse(scalar(timestamp=edge), NOW)
        assert isinstance(point, metrics.Point)
        assert point.timestamp == edge


def test_a_task_id_with_nul_is_an_invalid_task_id() -> None:
    """It once reached PostgreSQL and came back as 'Validation error: None'."""
    assert metrics.parse(scalar(task="a\x00b"), NOW) == "Invalid task id"
    assert reports.classify({"task": "a\x00b", "type": "plot"}, NOW) == "Invalid task id"


def test_metric_and_variant_names_are_keys() -> None:
    assert isinstance(metrics.parse(scalar(metric=AT, variant=AT), NOW), metrics.Point)
    for field in ("metric", "variant"):
        assert "limited to 255" in str(metrics.parse(scalar(**{field: OVER}), NOW))


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (cmd.CreateTask, {"name": "abc", "type": "qc", "tags": ["@"]}),
        (cmd.CreateTask, {"name": "abc", "type": "qc", "system_tags": ["@"]}),
        (cmd.CreateTask, {"name": "abc", "type": "qc", "project": "@"}),
        (cmd.CreateTask, {"name": "abc", "type": "qc", "parent": "@"}),
        (cmd.UpdateTask, {"task": "t", "project": "@"}),
        (cmd.CloneTask, {"task": "t", "new_task_tags": ["@"]}),
        (cmd.CloneTask, {"task": "t", "new_task_project": "@"}),
        (cmd.UpdateTags, {"ids": ["t"], "add_tags": ["@"]}),
        (cmd.EnqueueTask, {"task": "t", "queue_name": "@"}),
        (cmd.EnqueueTasks, {"ids": ["t"], "queue": "@"}),
        (cmd.CreateProject, {"name": "@"}),
    ],
)
def test_indexed_strings_of_commands_are_keys(kind: type[Any], fields: dict[str, Any]) -> None:
    """Longer ones once failed in a B-tree or GIN index and answered 503."""

    def fill(key: str) -> dict[str, Any]:
        return {k: (key if v == "@" else [key] if v == ["@"] else v) for k, v in fields.items()}

    msgspec.convert(fill(AT), kind)
    with pytest.raises(msgspec.ValidationError, match="length <= 255"):
        msgspec.convert(fill(OVER), kind)


def test_list_filters_patterns_order_keys_and_metric_pairs_are_bounded() -> None:
    values = [f"v{i}" for i in range(MAX_FILTER_VALUES + 1)]
    plan(GetAllRequest(id=values[:MAX_FILTER_VALUES], tags=values[:MAX_FILTER_VALUES]))
    for field in ("id", "user", "tags", "status", "project", "parent"):
        with pytest.raises(BadFilter, match="at most 1000 values"):
            plan(request_from({field: values}, GetAllRequest))
    plan(GetAllRequest(name="a" * MAX_PATTERN_LENGTH, search_text="b" * MAX_PATTERN_LENGTH))
    for field in ("name", "comment", "search_text"):
        with pytest.raises(BadFilter, match="at most 1024 characters"):
            plan(request_from({field: "a" * (MAX_PATTERN_LENGTH + 1)}, GetAllRequest))
    plan(GetAllRequest(order_by=["name"] * MAX_ORDER_KEYS))
    with pytest.raises(BadFilter, match="order_by"):
        plan(GetAllRequest(order_by=["name"] * (MAX_ORDER_KEYS + 1)))

    def pairs(n: int) -> dict[str, Any]:
        return {f"last_metrics.{i:032x}.{'b' * 32}.value": [0, 1] for i in range(n)}

    plan(request_from(pairs(MAX_METRIC_PAIRS_IN_FILTER), GetAllRequest))
    with pytest.raises(BadFilter, match="pairs"):
        plan(request_from(pairs(MAX_METRIC_PAIRS_IN_FILTER + 1), GetAllRequest))
    same_pair_twice = {**pairs(1), "order_by": [f"last_metrics.{0:032x}.{'b' * 32}.min_value"]}
    assert len(plan(request_from(same_pair_twice, GetAllRequest)).metric_ranges) == 1


def test_nested_filter_values_are_refused_without_walking_them() -> None:
    """A deeply nested list once exhausted the stack while being read (RecursionError)."""
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidRequest) as caught:
        request_from({"id": deep}, GetAllRequest)
    assert caught.value.codes == (400, 12)


@pytest.mark.parametrize(
    "bounds", [(10**400, None), (None, -(10**400)), (-(10**400), 10**400), (2**64, 2**65)]
)
def test_metric_ranges_beyond_doubles_compile_to_infinities(bounds: tuple[Any, Any]) -> None:
    """Integers past the doubles' range were once sent as a bigint and failed (500)."""
    condition = filters.metric_condition(task_metrics.c.value, Interval(*bounds))
    params = condition.compile(dialect=postgresql.dialect()).params  # type: ignore[no-untyped-call]
    bigints = [v for v in params.values() if isinstance(v, int) and abs(v) >= 2**63]
    assert bigints == []
    assert [v for v in params.values() if isinstance(v, float) and math.isinf(v)] or (
        bounds == (2**64, 2**65)
    )
