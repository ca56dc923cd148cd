"""A brute-force reference of SEMANTICS §4, written from the text, for the property tests.

It looks at all points of all reports at once (no incremental merging), so it shares no code
and no structure with tasktrack's incremental aggregate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

MONITOR = {":monitor:machine", ":monitor:gpu"}


@dataclass(frozen=True)
class P:
    metric: str
    variant: str
    iter: int | None
    value: float
    timestamp: int


@dataclass
class Expected:
    value: float
    min_value: float | None
    min_value_iteration: int | None
    max_value: float | None
    max_value_iteration: int | None
    first_value: float | None
    first_value_iteration: int | None
    count: int
    mean_value: float | None


def _it(p: P) -> int:
    return 0 if p.iter is None else p.iter


def reference(reports: list[list[P]], cap: int = 2000) -> dict[tuple[str, str], Expected]:
    """Series -> expected aggregate; only the first `cap` series (by first appearance) count."""
    order: list[tuple[str, str]] = []
    for report in reports:
        for p in report:
            key = (p.metric, p.variant)
            if key not in order:
                order.append(key)
    out: dict[tuple[str, str], Expected] = {}
    for key in order[:cap]:
        per_report = [[p for p in r if (p.metric, p.variant) == key] for r in reports]
        everything = [p for r in per_report for p in r]  # global arrival order
        finite = [p for p in everything if math.isfinite(p.value)]
        # value: the last report that has the series; its latest point by (iter, timestamp),
        # a later arrival winning ties.
        last_report = [r for r in per_report if r][-1]
        latest = last_report[0]
        for p in last_report:
            if (_it(p), p.timestamp) >= (_it(latest), latest.timestamp):
                latest = p
        lo = min((p.value for p in finite), default=None)
        hi = max((p.value for p in finite), default=None)
        lo_p = next((p for p in finite if p.value == lo), None)  # the earliest arrival of it
        hi_p = next((p for p in finite if p.value == hi), None)
        first_report = next((r for r in per_report if any(math.isfinite(p.value) for p in r)), [])
        first_candidates = [p for p in first_report if math.isfinite(p.value)]
        first_p = None
        for p in first_candidates:
            if first_p is None or _it(p) < _it(first_p):
                first_p = p
        mean = None
        if finite:
            mean = float(sum((Fraction(p.value) for p in finite), Fraction(0)) / len(finite))
        out[key] = Expected(
            value=latest.value,
            min_value=lo,
            min_value_iteration=None if lo_p is None else _it(lo_p),
            max_value=hi,
            max_value_iteration=None if hi_p is None else _it(hi_p),
            first_value=None if first_p is None else first_p.value,
            first_value_iteration=None if first_p is None else _it(first_p),
            count=len(everything),
            mean_value=mean,
        )
    return out


def last_iteration(reports: list[list[P]]) -> int:
    iters = [p.iter for r in reports for p in r if p.iter is not None and p.metric not in MONITOR]
    return max([0, *iters])


def same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))
