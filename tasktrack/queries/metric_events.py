"""events.plots and events.debug_images: a task's reports iteration by iteration, with a scroll.

As ClearML's metric events iterator: a scroll remembers, per task, the metrics (and their
variants) it started with and the iterations it has shown; a page is the next `iters`
iterations, earlier (the default) or later, each with one event per (metric, variant).
`refresh` takes in metrics that changed since. Debug images whose URL was reused at a later
iteration are stale at and before the reuse's previous iteration (its last invalid one), as
ClearML's. The scroll id carries that state itself (encoded, no server memory), so any
server process can go on with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection

from tasktrack.queries.reported import (
    IMAGE,
    Indexed,
    bodies,
    decode_token,
    encode_token,
    index,
    task_names,
)

_PREFIX = "me1"


class VariantState(msgspec.Struct, array_like=True):
    variant: str
    last_invalid: int | None = None


class MetricState(msgspec.Struct, array_like=True):
    metric: str
    seq: int  # the metric's latest report when the state was made (refresh compares it)
    variants: list[VariantState]


class TaskState(msgspec.Struct, array_like=True):
    task: str
    metrics: list[MetricState]
    min_iter: int | None = None
    max_iter: int | None = None


class ScrollState(msgspec.Struct):
    tasks: list[TaskState]


def _last_invalid(rows: Sequence[Indexed]) -> int | None:
    """The iteration before the latest showing of the latest image's URL, if it was reused."""
    latest = max(rows, key=lambda r: (r.iter, r.url or ""))
    same = sorted((r.iter for r in rows if r.url == latest.url), reverse=True)
    return same[1] if len(same) > 1 else None


def _init(rows: Sequence[Indexed], kind: str, task: str) -> TaskState:
    by_metric: dict[str, dict[str, list[Indexed]]] = {}
    for r in rows:
        by_metric.setdefault(r.metric, {}).setdefault(r.variant, []).append(r)
    metrics = []
    for metric in sorted(by_metric):
        variants = by_metric[metric]
        metrics.append(
            MetricState(
                metric=metric,
                seq=max(r.seq for group in variants.values() for r in group),
                variants=[
                    VariantState(v, _last_invalid(variants[v]) if kind == IMAGE else None)
                    for v in sorted(variants)
                ],
            )
        )
    return TaskState(task=task, metrics=metrics)


def _rows(conn: Connection, company: str, task: str, kind: str, metrics: Any) -> list[Indexed]:
    rows = index(conn, company, [task], kind, metrics or None)
    return [r for r in rows if r.url is not None] if kind == IMAGE else rows


def _refreshed(old: TaskState, fresh: TaskState) -> TaskState:
    """ClearML's refresh: metrics with newer reports (or new ones) are taken afresh, the
    others kept; either way the task's pages start again from its latest iteration."""
    before = {m.metric: m for m in old.metrics}
    changed = [m for m in fresh.metrics if m.metric not in before or before[m.metric].seq < m.seq]
    names = {m.metric for m in changed}
    return TaskState(
        task=old.task, metrics=[*changed, *(m for m in old.metrics if m.metric not in names)]
    )


def _page(
    rows: Sequence[Indexed], state: TaskState, iters: int, navigate_earlier: bool
) -> list[tuple[int, list[Indexed]]]:
    if not state.metrics:
        return []
    if state.max_iter is None:
        navigate_earlier = True  # the first page is always the latest iterations
    wanted = {m.metric for m in state.metrics}
    candidates = [r for r in rows if r.metric in wanted]
    if navigate_earlier and state.min_iter is not None:
        candidates = [r for r in candidates if r.iter < state.min_iter]
    elif not navigate_earlier and state.max_iter is not None:
        candidates = [r for r in candidates if r.iter > state.max_iter]
    shown = sorted({r.iter for r in candidates}, reverse=navigate_earlier)[: max(1, iters)]
    invalid = {(m.metric, v.variant): v.last_invalid for m in state.metrics for v in m.variants}
    pages = []
    for it in shown:
        best: dict[tuple[str, str], Indexed] = {}
        for r in candidates:
            key = (r.metric, r.variant)
            if r.iter != it or key not in invalid:
                continue
            bound = invalid[key]
            if bound is not None and r.iter <= bound:
                continue
            if key not in best or (r.url or "") > (best[key].url or ""):
                best[key] = r
        if best:
            pages.append((it, [best[k] for k in sorted(best)]))
    pages.sort(key=lambda p: p[0], reverse=True)
    if pages:
        state.max_iter, state.min_iter = pages[0][0], pages[-1][0]
    return pages


def metric_events(
    conn: Connection,
    company: str,
    kind: str,
    requested: Sequence[Mapping[str, Any]],
    *,
    iters: int = 1,
    navigate_earlier: bool = True,
    refresh: bool = False,
    scroll_id: str | None = None,
    models: bool = False,
) -> dict[str, Any]:
    """{scroll_id, metrics: [{task, iterations: [{iter, events}]}]} for `requested` ({task,
    metric?, variants?} each: a task without a metric means all of its metrics)."""
    wanted: dict[str, dict[str, list[str]] | None] = {}
    for item in requested:
        task, metric = item["task"], item.get("metric")
        if metric is None:
            wanted[task] = None
        elif task not in wanted or wanted[task] is not None:
            current = wanted.setdefault(task, {})
            assert current is not None
            current[metric] = list(item.get("variants") or [])
    task_names(conn, company, list(wanted), models=models)
    rows = {t: _rows(conn, company, t, kind, m) for t, m in wanted.items()}
    if scroll_id:
        state = decode_token(_PREFIX, scroll_id, ScrollState)
        if refresh:
            state.tasks = [
                _refreshed(s, _init(rows.get(s.task, []), kind, s.task)) for s in state.tasks
            ]
    else:
        state = ScrollState(tasks=[_init(rows[t], kind, t) for t in wanted])
    out = []
    for task_state in state.tasks:
        task_rows = rows.get(task_state.task)
        if task_rows is None:
            task_rows = _rows(conn, company, task_state.task, kind, None)
        pages = _page(task_rows, task_state, iters, navigate_earlier)
        chosen = [r for _, page in pages for r in page]
        found = iter(bodies(conn, company, chosen))
        iterations = [{"iter": it, "events": [next(found) for _ in page]} for it, page in pages]
        out.append({"task": task_state.task, "iterations": iterations})
    return {"scroll_id": encode_token(_PREFIX, state), "metrics": out}
