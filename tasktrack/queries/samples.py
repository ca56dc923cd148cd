"""One sample at a time: events.get_plot_sample / next_plot_sample (a metric's plots at one
iteration) and events.get_debug_image_sample / next_debug_image_sample (one image).

As ClearML's history iterators: a sample is the latest at or before the asked iteration;
`next_*` moves to the neighbouring variant (images) or metric (plots) at the same iteration,
else to the nearest iteration, earlier by default; `next_iteration` moves by iteration only.
With `navigate_current_metric` (the default) only the first sample's metric is visited.
Images older than their variant's valid range (a URL reused later shows the newer image) are
skipped. The scroll id carries where the caller is (encoded), nothing else: the ranges are
worked out afresh from the stored reports on every call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection

from tasktrack.queries.reported import (
    IMAGE,
    Indexed,
    InvalidScrollId,
    bodies,
    decode_token,
    encode_token,
    index,
    task_names,
)

_PREFIX = "hs1"


class Position(msgspec.Struct):
    task: str
    kind: str
    metric: str
    current_metric: bool
    variant: str | None = None
    iter: int | None = None


def _token(position: Position) -> str:
    return encode_token(_PREFIX, position)


def _position(token: str, task: str, kind: str) -> Position:
    position: Position = decode_token(_PREFIX, token, Position)
    if position.task != task or position.kind != kind:
        raise InvalidScrollId("Task stored in the state does not match the passed one")
    return position


def _rows(conn: Connection, company: str, position: Position) -> list[Indexed]:
    metrics: dict[str, list[str] | None] | None = (
        {position.metric: None} if position.current_metric else None
    )
    rows = index(conn, company, [position.task], position.kind, metrics)
    return [r for r in rows if r.url is not None] if position.kind == IMAGE else rows


def _ranges(rows: Sequence[Indexed], by_variant: bool) -> dict[tuple[str, str], tuple[int, int]]:
    """(min, max) valid iteration of each (metric, variant) (images) or (metric, "") (plots).
    An image variant's min is the earliest of its URLs' latest showings."""
    groups: dict[tuple[str, str], list[Indexed]] = {}
    for r in rows:
        groups.setdefault((r.metric, r.variant if by_variant else ""), []).append(r)
    out = {}
    for key, group in groups.items():
        top = max(r.iter for r in group)
        if by_variant:
            latest: dict[str | None, int] = {}
            for r in group:
                latest[r.url] = max(latest.get(r.url, r.iter), r.iter)
            out[key] = (min(latest.values()), top)
        else:
            out[key] = (min(r.iter for r in group), top)
    return out


def _valid(
    rows: Sequence[Indexed], ranges: dict[tuple[str, str], tuple[int, int]], by_variant: bool
) -> list[Indexed]:
    return [r for r in rows if r.iter >= ranges[(r.metric, r.variant if by_variant else "")][0]]


def _answer(
    conn: Connection, company: str, position: Position, rows: list[Indexed], ranges: Any
) -> dict[str, Any]:
    """The sample at `position` (rows: the events to show) with its range and a scroll id."""
    by_variant = position.kind == IMAGE
    key = (position.metric, (position.variant or "") if by_variant else "")
    low, high = ranges.get(key, (None, None))
    found = bodies(conn, company, rows)
    out: dict[str, Any] = {
        "scroll_id": _token(position),
        "min_iteration": low,
        "max_iteration": high,
    }
    if by_variant:
        out["event"] = found[0] if found else None
    else:
        out["events"] = found
    return out


def _empty(position: Position, by_variant: bool, scroll_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"scroll_id": scroll_id, "min_iteration": None, "max_iteration": None}
    if by_variant:
        out["event"] = None
    else:
        out["events"] = []
    return out


def _at(rows: Sequence[Indexed], position: Position, it: int) -> list[Indexed]:
    """The event(s) of the sample at (metric, variant or every variant, iteration)."""
    chosen = [r for r in rows if r.metric == position.metric and r.iter == it]
    if position.kind == IMAGE:
        chosen = [r for r in chosen if r.variant == position.variant]
        chosen.sort(key=lambda r: r.url or "", reverse=True)
        return chosen[:1]
    return sorted(chosen, key=lambda r: (r.variant, r.key))


def first_sample(
    conn: Connection,
    company: str,
    kind: str,
    task: str,
    metric: str,
    *,
    variant: str | None = None,
    iteration: int | None = None,
    refresh: bool = False,
    scroll_id: str | None = None,
    navigate_current_metric: bool = True,
    models: bool = False,
) -> dict[str, Any]:
    """get_plot_sample / get_debug_image_sample: the latest sample at or before `iteration`."""
    task_names(conn, company, [task], models=models)
    if scroll_id:
        old = _position(scroll_id, task, kind)
        if old.current_metric != navigate_current_metric or (
            navigate_current_metric and old.metric != metric
        ):
            raise InvalidScrollId(
                "Task and metric stored in the state do not match the passed ones",
                scroll_id=scroll_id,
            )
    position = Position(
        task=task, kind=kind, metric=metric, current_metric=navigate_current_metric, variant=variant
    )
    by_variant = kind == IMAGE
    rows = _rows(conn, company, position)
    ranges = _ranges(rows, by_variant)
    key = (metric, (variant or "") if by_variant else "")
    if key not in ranges:
        return _empty(position, by_variant, _token(position))
    low = ranges[key][0]
    its = [
        r.iter
        for r in rows
        if r.metric == metric
        and (not by_variant or r.variant == variant)
        and r.iter >= low
        and (iteration is None or r.iter <= iteration)
    ]
    if not its:
        out = _empty(position, by_variant, _token(position))
        out["min_iteration"], out["max_iteration"] = ranges[key]
        return out
    position.iter = max(its)
    return _answer(conn, company, position, _at(rows, position, position.iter), ranges)


def next_sample(
    conn: Connection,
    company: str,
    kind: str,
    task: str,
    scroll_id: str,
    *,
    navigate_earlier: bool = True,
    next_iteration: bool = False,
    models: bool = False,
) -> dict[str, Any]:
    """next_plot_sample / next_debug_image_sample: the neighbouring sample, or none (the
    scroll stays where it was)."""
    task_names(conn, company, [task], models=models)
    position = _position(scroll_id, task, kind)
    by_variant = kind == IMAGE
    if position.iter is None:
        return _empty(position, by_variant, scroll_id)
    rows = _rows(conn, company, position)
    ranges = _ranges(rows, by_variant)
    valid = _valid(rows, ranges, by_variant)

    def place(r: Indexed) -> tuple[str, str]:
        return (r.metric, r.variant if by_variant else "")

    here = (position.metric, (position.variant or "") if by_variant else "")
    found: Indexed | None = None
    if not next_iteration:
        same = [
            r
            for r in valid
            if r.iter == position.iter
            and (place(r) < here if navigate_earlier else place(r) > here)
        ]
        if same:
            found = max(same, key=place) if navigate_earlier else min(same, key=place)
    if found is None:
        other = [
            r
            for r in valid
            if (r.iter < position.iter if navigate_earlier else r.iter > position.iter)
        ]
        if other:
            found = (max if navigate_earlier else min)(other, key=lambda r: (r.iter, place(r)))
    if found is None:
        return _empty(position, by_variant, scroll_id)
    position.metric, position.iter = found.metric, found.iter
    position.variant = found.variant if by_variant else None
    return _answer(conn, company, position, _at(rows, position, found.iter), ranges)
