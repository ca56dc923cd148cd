"""Axis arithmetic for the report's charts: linear scales, round ticks, time ticks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec

# Time-axis steps in seconds, from a millisecond to a year.
_TIME_STEPS = (
    *(m * 10.0**e for e in range(-3, 1) for m in (1, 2, 5)),
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
    90 * 86400,
    365 * 86400,
)


class Scale(msgspec.Struct, frozen=True):
    """Maps the domain [lo, hi] onto the pixels [px0, px1] (px1 < px0 flips, as for y)."""

    lo: float
    hi: float
    px0: float
    px1: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo
        if span == 0:
            return (self.px0 + self.px1) / 2
        return self.px0 + (value - self.lo) / span * (self.px1 - self.px0)


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `count` intervals over `span`."""
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round ticks from a multiple of the step at or below `lo` to one at or above `hi`."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [_clean(i * step) for i in range(first, last + 1)]


def _clean(value: float) -> float:
    """0.30000000000000004 -> 0.3: ticks are labels, so 12 significant digits are plenty."""
    return float(f"{value:.12g}")


def number_label(value: float) -> str:
    return "0" if value == 0 else f"{value:.6g}"


def time_ticks(start: datetime, end: datetime, most: int = 8) -> tuple[list[datetime], float]:
    """Ticks at round times within [start, end] (at most `most`), and the step in seconds."""
    span = max((end - start).total_seconds(), 0.001)
    step = next((s for s in _TIME_STEPS if span / s <= most), _TIME_STEPS[-1])
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = math.ceil((start - epoch).total_seconds() / step - 1e-9)
    ticks = []
    i = first
    while True:
        tick = epoch + timedelta(seconds=i * step)
        if tick > end:
            break
        ticks.append(tick)
        i += 1
    return ticks, step


def time_label(moment: datetime, step: float) -> str:
    """A tick's label in UTC, as precise as the step needs."""
    utc = moment.astimezone(UTC)
    if step < 1:
        return utc.strftime("%H:%M:%S.%f")[:-3]
    if step < 60:
        return utc.strftime("%H:%M:%S")
    if step < 86400:
        return utc.strftime("%m-%d %H:%M")
    return utc.strftime("%Y-%m-%d")
