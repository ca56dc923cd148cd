"""events.get_task_events: every event a task reported (or those of one type), in iteration
order, a batch at a time with a scroll id.

Three read models answer: task_reported_events (plots, debug images, vectors),
task_metric_points (scalars of the current run) and task_log_lines (console output). Each is
read with a keyset after the scroll's last event, in (iter, kind, tiebreak) order, at most a
batch each, and the three are merged: a page costs a batch per source, plus the sort of the
candidate rows in the server (scalars: the task's points of the wanted series).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, func, or_, select, true, tuple_

from tasktrack.queries.reported import (
    MetricVariants,
    decode_token,
    encode_token,
    task_names,
)
from tasktrack.store.tables import (
    task_log_lines,
    task_metric_points,
    task_metric_series,
    task_reported_events,
    task_runs,
)

_PREFIX = "te1"
SCALAR, LOG = "training_stats_scalar", "log"
MAX_BATCH = 10_000
_json = msgspec.json.Decoder(dict[str, Any])
_text = msgspec.json.Decoder(str)
_INT64_MIN = -(2**63)

Key = tuple[int, int, str, str, str, str, int]  # iter, source, 4 texts, a number


class Scroll(msgspec.Struct, array_like=True):
    task: str
    event_type: str | None
    order: str
    metrics: dict[str, list[str]] | None
    after: list[Any] | None
    total: int | None
    batch_size: int


def _after(columns: Sequence[Any], scroll: Scroll, source: int, ties: slice) -> Any:
    """Rows of `source` past the scroll's last event in the scroll's order; `ties` picks the
    last event's tiebreak values that `columns` (after the iteration) compare with."""
    if scroll.after is None:
        return true()
    it, last_source = scroll.after[0], scroll.after[1]
    if scroll.order == "asc":
        if source != last_source:
            return columns[0] >= it if source > last_source else columns[0] > it
        return tuple_(*columns) > tuple_(it, *scroll.after[ties])
    if source != last_source:
        return columns[0] <= it if source < last_source else columns[0] < it
    return tuple_(*columns) < tuple_(it, *scroll.after[ties])


def _metric_filter(metric: Any, variant: Any, metrics: Mapping[str, Sequence[str]] | None) -> Any:
    if not metrics:
        return true()
    return or_(
        *(
            and_(metric == m, variant.in_(list(vs))) if vs else metric == m
            for m, vs in metrics.items()
        )
    )


def _reported(
    conn: Connection, company: str, scroll: Scroll, size: int
) -> list[tuple[Key, dict[str, Any]]]:
    e = task_reported_events.c
    cols = (e.iter, e.type, e.metric, e.variant, e.key)
    wanted = [
        e.company == company,
        e.task_id == scroll.task,
        _metric_filter(e.metric, e.variant, scroll.metrics),
    ]
    if scroll.event_type is not None:
        wanted.append(e.type == scroll.event_type)
    wanted.append(_after(cols, scroll, 0, slice(2, 6)))
    direction = [c if scroll.order == "asc" else c.desc() for c in cols]
    rows = conn.execute(select(*cols, e.body).where(*wanted).order_by(*direction).limit(size))
    return [
        ((r[0], 0, r[1], r[2], r[3], r[4], 0), {"task": scroll.task, **_json.decode(r[5])})
        for r in rows
    ]


def _scalars(
    conn: Connection, company: str, scroll: Scroll, size: int
) -> list[tuple[Key, dict[str, Any]]]:
    s, p = task_metric_series.c, task_metric_points.c
    run = (
        select(func.coalesce(func.max(task_runs.c.run), 0))
        .where(task_runs.c.company == company, task_runs.c.task_id == scroll.task)
        .scalar_subquery()
    )
    cols = (p.iter, s.metric, s.variant)
    wanted = [
        s.company == company,
        s.task_id == scroll.task,
        s.run == run,
        _metric_filter(s.metric, s.variant, scroll.metrics),
        p.company == company,
        p.series_id == s.series_id,
        _after(cols, scroll, 1, slice(2, 4)),
    ]
    direction = [c if scroll.order == "asc" else c.desc() for c in cols]
    rows = conn.execute(
        select(*cols, p.value, p.timestamp).where(*wanted).order_by(*direction).limit(size)
    )
    return [
        (
            (r[0], 1, r[1], r[2], "", "", 0),
            {
                "type": SCALAR,
                "task": scroll.task,
                "metric": r[1],
                "variant": r[2],
                "iter": r[0],
                "value": r[3],
                "timestamp": r[4],
            },
        )
        for r in rows
    ]


def _logs(
    conn: Connection, company: str, scroll: Scroll, size: int
) -> list[tuple[Key, dict[str, Any]]]:
    if scroll.metrics:
        return []  # console lines carry no metric here
    line = task_log_lines.c
    it = func.coalesce(line.iter, _INT64_MIN)
    cols = (it, line.seq)
    wanted = [
        line.company == company,
        line.task_id == scroll.task,
        _after(cols, scroll, 2, slice(6, 7)),
    ]
    direction = [c if scroll.order == "asc" else c.desc() for c in cols]
    rows = conn.execute(
        select(
            it,
            line.seq,
            line.timestamp,
            line.level,
            line.worker,
            line.msg,
            line.iter,
            line.json_encoded,
        )
        .where(*wanted)
        .order_by(*direction)
        .limit(size)
    )
    out = []
    for r in rows:
        level, worker, msg = (
            (_text.decode(r[3]), None if r[4] is None else _text.decode(r[4]), _text.decode(r[5]))
            if r[7]
            else (r[3], r[4], r[5])
        )
        body = {
            "type": LOG,
            "task": scroll.task,
            "timestamp": r[2],
            "level": level,
            "worker": worker,
            "msg": msg,
            "iter": r[6],
        }
        out.append(((r[0], 2, "", "", "", "", r[1]), body))
    return out


def _count(conn: Connection, company: str, scroll: Scroll) -> int:
    total = 0
    if scroll.event_type in (None, SCALAR):
        s = task_metric_series.c
        run = (
            select(func.coalesce(func.max(task_runs.c.run), 0))
            .where(task_runs.c.company == company, task_runs.c.task_id == scroll.task)
            .scalar_subquery()
        )
        total += conn.execute(
            select(func.coalesce(func.sum(s.points), 0)).where(
                s.company == company,
                s.task_id == scroll.task,
                s.run == run,
                _metric_filter(s.metric, s.variant, scroll.metrics),
            )
        ).scalar_one()
    if scroll.event_type not in (SCALAR, LOG):
        e = task_reported_events.c
        wanted = [
            e.company == company,
            e.task_id == scroll.task,
            _metric_filter(e.metric, e.variant, scroll.metrics),
        ]
        if scroll.event_type is not None:
            wanted.append(e.type == scroll.event_type)
        total += conn.execute(select(func.count()).where(*wanted)).scalar_one()
    if scroll.event_type in (None, LOG) and not scroll.metrics:
        line = task_log_lines.c
        total += conn.execute(
            select(func.coalesce(func.max(line.seq), 0)).where(
                line.company == company, line.task_id == scroll.task
            )
        ).scalar_one()
    return int(total)


def task_events(
    conn: Connection,
    company: str,
    task: str,
    *,
    event_type: str | None = None,
    metrics: MetricVariants | None = None,
    order: str = "asc",
    batch_size: int = 500,
    count_total: bool = True,
    scroll_id: str | None = None,
    models: bool = False,
) -> dict[str, Any]:
    """{events, returned, total, scroll_id}: the next batch of the task's events."""
    if scroll_id:
        scroll = decode_token(_PREFIX, scroll_id, Scroll)
        task_names(conn, company, [scroll.task], models=models)
    else:
        task_names(conn, company, [task], models=models)
        kind = None if event_type in (None, "*", "all") else event_type
        scroll = Scroll(
            task=task,
            event_type=kind,
            order=order,
            metrics={m: list(v or []) for m, v in metrics.items()} if metrics else None,
            after=None,
            total=None,
            batch_size=batch_size,
        )
    if count_total and scroll.total is None:
        scroll.total = _count(conn, company, scroll)
    size = max(1, min(batch_size or scroll.batch_size, MAX_BATCH))
    found: list[tuple[Key, dict[str, Any]]] = []
    if scroll.event_type not in (SCALAR, LOG):
        found += _reported(conn, company, scroll, size)
    if scroll.event_type in (None, SCALAR):
        found += _scalars(conn, company, scroll, size)
    if scroll.event_type in (None, LOG):
        found += _logs(conn, company, scroll, size)
    found.sort(key=lambda f: f[0], reverse=scroll.order != "asc")
    page = found[:size]
    if page:
        scroll.after = list(page[-1][0])
    events = [body for _, body in page]
    return {
        "events": events,
        "returned": len(events),
        "total": scroll.total,
        "scroll_id": encode_token(_PREFIX, scroll),
    }
