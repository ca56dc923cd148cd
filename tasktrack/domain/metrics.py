"""Scalar metric reports: validating points, and the last/min/max/first/mean rules (SEMANTICS §4).

Pure. The projector applies `batch_stats` of each report with one set-based upsert whose merge
rules are `combine` (kept in SQL and here in Python, and tested equal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import msgspec

from tasktrack.domain.limits import MAX_KEY_LENGTH, too_long

SCALAR = "training_stats_scalar"
MONITOR_METRICS = frozenset({":monitor:machine", ":monitor:gpu"})
MAX_PAIRS_PER_TASK = 2000
NONFINITE_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# Enough digits to add doubles exactly (2^1024 down to 2^-1074 spans about 1400 digits).
EXACT_DIGITS = 1500

Series = tuple[str, str]
INT64 = (-(2**63), 2**63)


class EventIn(msgspec.Struct, frozen=True, kw_only=True):
    """One event of an events.add / add_batch body, read leniently: checks come after."""

    task: str | None = None
    type: str | None = None
    metric: str | None = None
    variant: str | None = None
    value: float | None = None
    iter: int | None = None
    timestamp: float | None = None
    x_axis_label: str | None = None


class MalformedEvent(msgspec.Struct, frozen=True):
    """An event that could not even be read (not JSON): counted under `reason`."""

    reason: str


class Point(msgspec.Struct, frozen=True):
    """An accepted scalar: task, series, iteration (None if absent), value, time (epoch ms)."""

    task: str
    metric: str
    variant: str
    iter: int | None
    value: float
    timestamp: int
    x_axis_label: str | None = None


def parse(raw: Any, now_ms: int) -> Point | str:
    """A Point, or the error message it is counted under in `errors_info`."""
    if isinstance(raw, MalformedEvent):
        return raw.reason
    try:
        event = raw if isinstance(raw, EventIn) else msgspec.convert(raw, EventIn)
    except msgspec.ValidationError as exc:
        return f"Invalid event: {exc}"
    if not event.task:
        return "Missing task id"
    if "\x00" in event.task:
        return "Invalid task id"
    if not event.type:
        return "Missing event type"
    if event.type != SCALAR:
        return f"Unsupported event type: {event.type}"
    if event.value is None:
        return "Missing scalar value"
    if "\x00" in (event.metric or "") or "\x00" in (event.variant or ""):
        return "Invalid event: metric and variant may not contain NUL characters"
    if too_long(event.metric or "") or too_long(event.variant or ""):
        return f"Invalid event: metric and variant are limited to {MAX_KEY_LENGTH} characters"
    if event.iter is not None and not INT64[0] <= event.iter < INT64[1]:
        return "Iteration out of range (signed 64-bit)"
    if event.timestamp is not None and not valid_timestamp(event.timestamp):
        return TIMESTAMP_ERROR
    return Point(
        task=event.task,
        metric=event.metric or "",
        variant=event.variant or "",
        iter=event.iter,
        value=float(event.value),
        timestamp=int(event.timestamp) if event.timestamp is not None else now_ms,
        x_axis_label=event.x_axis_label,
    )


TIMESTAMP_ERROR = "Invalid event: timestamp must be a finite number of epoch ms (signed 64-bit)"


def valid_timestamp(value: float) -> bool:
    """An epoch-ms timestamp: finite, and within signed 64 bits once truncated."""
    return math.isfinite(value) and INT64[0] <= int(value) < INT64[1]


def encode_value(value: float) -> float | str:
    """JSON has no NaN or infinities: the log keeps them by name."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def decode_value(value: float | str) -> float:
    return NONFINITE_NAMES[value] if isinstance(value, str) else value


def moves_last_iteration(metric: str) -> bool:
    return metric not in MONITOR_METRICS


class Stats(msgspec.Struct, kw_only=True):
    """One (metric, variant)'s aggregate: of one report (batch_stats) or of all (combine)."""

    value: float
    value_iteration: int
    value_timestamp: int
    x_axis_label: str | None = None
    min_value: float | None = None
    min_value_iteration: int | None = None
    max_value: float | None = None
    max_value_iteration: int | None = None
    first_value: float | None = None
    first_value_iteration: int | None = None
    count: int = 0
    finite_count: int = 0
    nonfinite_count: int = 0
    value_sum: Decimal = Decimal(0)

    @property
    def mean_value(self) -> float | None:
        """The exact mean, correctly rounded (not ClearML's two decimals)."""
        if not self.finite_count:
            return None
        return float(Fraction(self.value_sum) / self.finite_count)


def exact_sum(values: Iterable[float]) -> Decimal:
    """The exact sum of finite doubles, as a Decimal.

    Equal, digit for digit and exponent for exponent, to summing `Decimal(v)` (the exponent is
    that of the value with the most binary places), but added as integers: every double is
    n / 2**k, so the sum is an integer over the largest 2**k, and a Decimal only at the end
    (n / 2**k = n * 5**k / 10**k). Several times faster than Decimal additions at 1,500 digits.
    """
    total = 0
    scale = 0  # the sum is total / 2**scale
    for v in values:
        n, d = v.as_integer_ratio()
        k = d.bit_length() - 1
        if k > scale:
            total <<= k - scale
            scale = k
        total += n << (scale - k)
    with localcontext() as ctx:
        ctx.prec = EXACT_DIGITS
        return Decimal(total * 5**scale).scaleb(-scale)


def batch_stats(points: Iterable[Point]) -> dict[Series, Stats]:
    """The aggregate of one report per series, by SEMANTICS' within-request rules.

    Points are in arrival order. Latest: the greatest (iter, timestamp), a later arrival
    winning ties. Min strict <, max strict > (ties keep the earlier arrival). First: the value
    at the smallest iter (ties keep the earlier arrival). A missing iter counts as 0.
    Non-finite values never become min, max or first and stay out of the mean.
    """
    out: dict[Series, Stats] = {}
    finite: dict[Series, list[float]] = {}
    for p in points:
        key = (p.metric, p.variant)
        it = 0 if p.iter is None else p.iter
        s = out.get(key)
        if s is None:
            s = out[key] = Stats(
                value=p.value,
                value_iteration=it,
                value_timestamp=p.timestamp,
                x_axis_label=p.x_axis_label,
            )
            finite[key] = []
        elif (it, p.timestamp) >= (s.value_iteration, s.value_timestamp):
            s.value, s.value_iteration, s.value_timestamp = p.value, it, p.timestamp
            s.x_axis_label = p.x_axis_label
        s.count += 1
        if not math.isfinite(p.value):
            s.nonfinite_count += 1
            continue
        s.finite_count += 1
        finite[key].append(p.value)
        if s.min_value is None or p.value < s.min_value:
            s.min_value, s.min_value_iteration = p.value, it
        if s.max_value is None or p.value > s.max_value:
            s.max_value, s.max_value_iteration = p.value, it
        if s.first_value_iteration is None or it < s.first_value_iteration:
            s.first_value, s.first_value_iteration = p.value, it
    for key, values in finite.items():
        out[key].value_sum = exact_sum(values)
    return out


def combine(old: Stats | None, new: Stats) -> Stats:
    """The aggregate after a later report `new` (the across-requests rules; the SQL mirrors it).

    `value` is set by every report (arrival order wins, even at a lower iteration); min and max
    change only when strictly better; `first_value` is set once; counts and the sum add.
    """
    if old is None:
        return new
    lower = new.min_value is not None and (old.min_value is None or new.min_value < old.min_value)
    higher = new.max_value is not None and (old.max_value is None or new.max_value > old.max_value)
    first_set = old.first_value is not None
    with localcontext() as ctx:
        ctx.prec = EXACT_DIGITS
        total = old.value_sum + new.value_sum
    return Stats(
        value=new.value,
        value_iteration=new.value_iteration,
        value_timestamp=new.value_timestamp,
        x_axis_label=new.x_axis_label,
        min_value=new.min_value if lower else old.min_value,
        min_value_iteration=new.min_value_iteration if lower else old.min_value_iteration,
        max_value=new.max_value if higher else old.max_value,
        max_value_iteration=new.max_value_iteration if higher else old.max_value_iteration,
        first_value=old.first_value if first_set else new.first_value,
        first_value_iteration=old.first_value_iteration if first_set else new.first_value_iteration,
        count=old.count + new.count,
        finite_count=old.finite_count + new.finite_count,
        nonfinite_count=old.nonfinite_count + new.nonfinite_count,
        value_sum=total,
    )


def last_iteration(points: Iterable[Point]) -> int | None:
    """The highest iteration of a report that moves last_iteration (no monitor metrics)."""
    iters = [p.iter for p in points if p.iter is not None and moves_last_iteration(p.metric)]
    return max(iters) if iters else None
