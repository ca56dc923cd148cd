"""Queue length and average wait over time, folded from a queue's stream (pure).

ClearML samples a queue at every change of its line (a task entered, left or was handed out):
how many tasks wait, and how long on average they have waited so far. It then buckets the
samples by `interval` seconds from the epoch and keeps, per bucket, the sample with the longest
average wait (then the longest line). tasktrack takes the samples from the log instead of a
separate metrics store, so they exist for every moment the log covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from tasktrack.domain import events as ev

LINE_EVENTS = (ev.QueueTaskAdded, ev.QueueTaskRemoved, ev.QueueTaskHandedOut, ev.QueueDeleted)


class Sample(msgspec.Struct, frozen=True):
    at: datetime
    length: int
    avg_wait: float  # seconds


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """One queue's (or all queues') buckets: start (epoch ms), average wait, length."""

    dates: list[int] = []
    avg_waiting_times: list[float] = []
    queue_lengths: list[int] = []


def samples(events: Iterable[ev.AnyEvent]) -> list[Sample]:
    """A sample after every change of the line: its length and its average wait then."""
    waiting: dict[str, datetime] = {}
    out: list[Sample] = []
    total = 0.0  # sum of the entries' `added` as epoch seconds: the mean wait in O(1)
    for event in events:
        if not isinstance(event, LINE_EVENTS):
            continue
        if isinstance(event, ev.QueueTaskAdded):
            waiting[event.task] = event.at
            total += event.at.timestamp()
        elif isinstance(event, ev.QueueDeleted):
            waiting.clear()
            total = 0.0
        elif event.task in waiting:
            total -= waiting.pop(event.task).timestamp()
        n = len(waiting)
        avg = event.at.timestamp() - total / n if n else 0.0
        out.append(Sample(event.at, n, max(avg, 0.0)))
    return out


def buckets(found: Iterable[Sample], start: float, end: float, interval: int) -> Series:
    """Per bucket of `interval` seconds (aligned to the epoch) between `start - interval` and
    `end`, the sample with the longest average wait (then the longest line); empty buckets
    are left out."""
    step = interval * 1000
    best: dict[int, Sample] = {}
    for sample in found:
        ms = int(sample.at.timestamp() * 1000)
        if ms > end * 1000:
            continue
        key = ms // step * step
        if key < (start - interval) * 1000:
            continue
        held = best.get(key)
        if held is None or (sample.avg_wait, sample.length) > (held.avg_wait, held.length):
            best[key] = sample
    keys = sorted(best)
    return Series(
        dates=keys,
        avg_waiting_times=[best[k].avg_wait for k in keys],
        queue_lengths=[best[k].length for k in keys],
    )


def total(series: list[Series]) -> Series:
    """All queues as one: per bucket the summed length and the length-weighted mean wait, a
    queue without a sample in a bucket counting with its last one (ClearML's average)."""
    dates = sorted({d for s in series for d in s.dates})
    last: dict[int, tuple[float, int]] = {}
    out = Series()
    for date in dates:
        for i, s in enumerate(series):
            if date in s.dates:
                j = s.dates.index(date)
                last[i] = (s.avg_waiting_times[j], s.queue_lengths[j])
        length = sum(n for _, n in last.values())
        wait = sum(w * n for w, n in last.values()) / length if length else 0.0
        out.dates.append(date)
        out.avg_waiting_times.append(wait)
        out.queue_lengths.append(length)
    return out
