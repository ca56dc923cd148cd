"""The incremental aggregate (batch_stats, then combine per report) equals a brute-force
reference of SEMANTICS §4 for random point streams split into random reports."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from tasktrack.domain import metrics
from tests.metric_reference import P, last_iteration, reference, same_float

values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from(
        [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, float("nan"), float("inf"), float("-inf")]
    ),
)
iters = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([-(2**63), 2**63 - 1]))
points = st.builds(
    P,
    metric=st.sampled_from(["loss", "acc", ":monitor:gpu"]),
    variant=st.sampled_from(["", "train", "val"]),
    iter=iters,
    value=values,
    timestamp=st.integers(0, 3),
)
reports_strategy = st.lists(st.lists(points, min_size=1, max_size=12), min_size=1, max_size=6)


def _incremental(reports: list[list[P]]) -> tuple[dict[tuple[str, str], metrics.Stats], int]:
    state: dict[tuple[str, str], metrics.Stats] = {}
    last = 0
    for report in reports:
        pts = [
            metrics.Point("t", p.metric, p.variant, p.iter, p.value, p.timestamp) for p in report
        ]
        for key, stats in metrics.batch_stats(pts).items():
            state[key] = metrics.combine(state.get(key), stats)
        top = metrics.last_iteration(pts)
        last = max(last, top) if top is not None else last
    return state, last


@settings(max_examples=400, deadline=None)
@given(reports_strategy)
def test_incremental_aggregate_equals_brute_force(reports: list[list[P]]) -> None:
    got, last = _incremental(reports)
    want = reference(reports)
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        assert same_float(g.value, w.value), key
        assert (g.min_value, g.min_value_iteration) == (w.min_value, w.min_value_iteration), key
        assert (g.max_value, g.max_value_iteration) == (w.max_value, w.max_value_iteration), key
        assert (g.first_value, g.first_value_iteration) == (w.first_value, w.first_value_iteration)
        assert g.count == w.count
        assert same_float(g.mean_value, w.mean_value), key
    assert last == last_iteration(reports)


def test_ties_keep_the_earlier_arrival_for_min_max_first_and_the_later_for_value() -> None:
    pts = [
        metrics.Point("t", "m", "v", 2, 5.0, 10),
        metrics.Point("t", "m", "v", 1, 5.0, 10),  # same min/max value: the first one stays
        metrics.Point("t", "m", "v", 1, 7.0, 10),  # same smallest iter as the one before
        metrics.Point("t", "m", "v", 2, 6.0, 10),  # same (iter, ts) as the first: it wins value
    ]
    s = metrics.batch_stats(pts)[("m", "v")]
    assert (s.value, s.min_value_iteration, s.max_value) == (6.0, 2, 7.0)
    assert (s.first_value, s.first_value_iteration) == (5.0, 1)


def test_a_later_report_sets_value_even_at_a_lower_iteration() -> None:
    a = metrics.batch_stats([metrics.Point("t", "m", "v", 10, 1.0, 0)])[("m", "v")]
    b = metrics.batch_stats([metrics.Point("t", "m", "v", 3, 2.0, 0)])[("m", "v")]
    merged = metrics.combine(a, b)
    assert merged.value == 2.0
    assert (merged.first_value, merged.first_value_iteration) == (1.0, 10)  # set once


def test_non_finite_values_count_but_stay_out_of_min_max_first_and_mean() -> None:
    pts = [
        metrics.Point("t", "m", "v", i, v, 0)
        for i, v in enumerate([math.nan, 2.0, math.inf, -math.inf, 4.0])
    ]
    s = metrics.batch_stats(pts)[("m", "v")]
    assert (s.count, s.finite_count, s.nonfinite_count) == (5, 2, 3)
    assert (s.min_value, s.max_value, s.first_value, s.mean_value) == (2.0, 4.0, 2.0, 3.0)


def test_mean_is_exact_not_rounded_to_two_decimals() -> None:
    pts = [metrics.Point("t", "m", "v", i, v, 0) for i, v in enumerate([1e16, 1.0, -1e16])]
    # Summed naively in floats this is 0.0; the exact mean is 1/3.
    assert metrics.batch_stats(pts)[("m", "v")].mean_value == 1 / 3
    third = [
        metrics.Point("t", "m", "v", 0, 1.0, 0),
        metrics.Point("t", "m", "v", 1, 0.0, 0),
        metrics.Point("t", "m", "v", 2, 0.0, 0),
    ]
    assert metrics.batch_stats(third)[("m", "v")].mean_value == 1 / 3  # not 0.33


def test_parse_refuses_what_semantics_refuses() -> None:
    assert metrics.parse({"type": "training_stats_scalar", "value": 1}, 0) == "Missing task id"
    assert metrics.parse({"task": "t", "value": 1}, 0) == "Missing event type"
    assert "signed 64-bit" in str(
        metrics.parse({"task": "t", "type": metrics.SCALAR, "value": 1, "iter": 2**63}, 0)
    )
    point = metrics.parse({"task": "t", "type": metrics.SCALAR, "value": 1, "metric": None}, 77)
    assert isinstance(point, metrics.Point)
    assert (point.metric, point.variant, point.iter, point.timestamp) == ("", "", None, 77)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=30))
def test_the_integer_exact_sum_is_the_decimal_sum_digit_for_digit(values: list[float]) -> None:
    with localcontext() as ctx:
        ctx.prec = metrics.EXACT_DIGITS
        expected = sum((Decimal(v) for v in values), Decimal(0))
    got = metrics.exact_sum(values)
    assert got == expected
    assert got.as_tuple() == expected.as_tuple()  # same digits, same exponent, same sign


def test_the_exact_sum_at_the_edges_of_doubles() -> None:
    tiny, huge = 5e-324, 1.7976931348623157e308
    assert metrics.exact_sum([huge, tiny, -huge]) == Decimal(tiny)
    assert metrics.exact_sum([-0.0, -0.0]).as_tuple() == Decimal(0).as_tuple()
    assert str(metrics.exact_sum([0.1, 0.2])) == (
        "0.3000000000000000166533453693773481063544750213623046875"
    )
