"""A task's plots, debug images and vectors (task_reported_events): lists and their paging.

Each reader first reads the index columns (type, metric, variant, iter, url, seq) of the rows
it may answer with, works out which ones in Python (a task's reports, not its payloads), and
then reads the bodies of only those: a task with a thousand megabyte plots costs a page.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, or_, select, tuple_

from tasktrack.domain.errors import DomainError, TaskNotFound
from tasktrack.domain.model_errors import ModelNotFound
from tasktrack.store.tables import models as model_rows
from tasktrack.store.tables import task_log_lines, task_reported_events, tasks

PLOT = "plot"
IMAGE = "training_debug_image"
VECTOR = "training_stats_vector"
MAX_VECTORS = 10_000  # as ClearML's one search
_json = msgspec.json.Decoder(dict[str, Any])
_token_encoder = msgspec.json.Encoder()
_ev = task_reported_events.c

# {metric: [variants]}; no variants (or None) means all of the metric's.
MetricVariants = Mapping[str, Sequence[str] | None]


class InvalidScrollId(DomainError):
    """A scroll id this server did not hand out (or for another task)."""

    subcode = 1104


class Indexed(msgspec.Struct, frozen=True):
    """A stored report without its payload."""

    task: str
    type: str
    metric: str
    variant: str
    iter: int
    key: str
    seq: int
    timestamp: int
    url: str | None


def task_names(
    conn: Connection, company: str, ids: Iterable[str], *, models: bool = False
) -> dict[str, str]:
    """Name of each task of the caller's; an unknown id is 400/101 (as ClearML). With
    `models` (a request's `model_events`), of each model instead: their events are read under
    the model's id, and an unknown one is ClearML's invalid model id."""
    wanted = sorted(set(ids))
    owner = model_rows if models else tasks
    found = {
        r.id: r.name
        for r in conn.execute(
            select(owner.c.id, owner.c.name).where(
                owner.c.company == company, owner.c.id.in_(wanted)
            )
        )
    }
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ModelNotFound(missing[0]) if models else TaskNotFound(missing[0])
    return found


def _variant_filter(metrics: MetricVariants | None) -> Any:
    if not metrics:
        return None
    parts = []
    for metric, variants in metrics.items():
        if variants:
            parts.append(and_(_ev.metric == metric, _ev.variant.in_(list(variants))))
        else:
            parts.append(_ev.metric == metric)
    return or_(*parts)


def index(
    conn: Connection,
    company: str,
    task_ids: Sequence[str],
    kind: str | None,
    metrics: MetricVariants | None = None,
) -> list[Indexed]:
    """The stored reports of these tasks (of one kind, or all), without payloads."""
    wanted = [_ev.company == company, _ev.task_id.in_(list(task_ids))]
    if kind is not None:
        wanted.append(_ev.type == kind)
    where = _variant_filter(metrics)
    if where is not None:
        wanted.append(where)
    query = select(
        _ev.task_id,
        _ev.type,
        _ev.metric,
        _ev.variant,
        _ev.iter,
        _ev.key,
        _ev.seq,
        _ev.timestamp,
        _ev.url,
    ).where(*wanted)
    return [Indexed(*r) for r in conn.execute(query)]


def bodies(conn: Connection, company: str, rows: Sequence[Indexed]) -> list[dict[str, Any]]:
    """The events as reported (with their task), in the order of `rows`."""
    if not rows:
        return []
    keys = [(r.task, r.type, r.metric, r.variant, r.iter, r.key) for r in rows]
    found: dict[tuple[Any, ...], str] = {}
    for i in range(0, len(keys), 1000):
        chunk = keys[i : i + 1000]
        query = select(
            _ev.task_id, _ev.type, _ev.metric, _ev.variant, _ev.iter, _ev.key, _ev.body
        ).where(
            _ev.company == company,
            tuple_(_ev.task_id, _ev.type, _ev.metric, _ev.variant, _ev.iter, _ev.key).in_(chunk),
        )
        for r in conn.execute(query):
            found[tuple(r[:6])] = r[6]
    out = []
    for key in keys:
        body = _json.decode(found[key])
        out.append({"task": key[0], **body})
    return out


# --- scroll ids: stateless, the state they carry is only where the caller has got to --------


def encode_token(prefix: str, state: Any) -> str:
    raw = base64.urlsafe_b64encode(_token_encoder.encode(state)).decode().rstrip("=")
    return f"{prefix}.{raw}"


def decode_token(prefix: str, token: str, kind: type[Any]) -> Any:
    head, _, raw = token.partition(".")
    if head != prefix:
        raise InvalidScrollId("Invalid scroll id", scroll_id=token)
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return msgspec.json.decode(data, type=kind)
    except (ValueError, msgspec.DecodeError) as exc:
        raise InvalidScrollId("Invalid scroll id", scroll_id=token) from exc


# --- events.get_task_plots / get_multi_task_plots -------------------------------------------


def last_iterations(rows: Iterable[Indexed], iters: int, *, per: str = "variant") -> list[Indexed]:
    """Per (task, metric, variant) (or per task and metric), the rows of its `iters` latest
    iterations, latest first."""
    groups: dict[tuple[str, ...], list[Indexed]] = {}
    for r in rows:
        key: tuple[str, ...] = (
            (r.task, r.metric, r.variant) if per == "variant" else (r.task, r.metric)
        )
        groups.setdefault(key, []).append(r)
    out = []
    for key in sorted(groups):
        group = groups[key]
        kept = sorted({r.iter for r in group}, reverse=True)[: max(1, iters)]
        out += sorted((r for r in group if r.iter in kept), key=lambda r: (-r.iter, r.variant))
    return out


def task_plots(
    conn: Connection,
    company: str,
    task: str,
    *,
    iters: int = 1,
    metrics: MetricVariants | None = None,
    models: bool = False,
) -> dict[str, Any]:
    """events.get_task_plots: the last `iters` iterations of each plot (metric, variant)."""
    task_names(conn, company, [task], models=models)
    rows = last_iterations(index(conn, company, [task], PLOT, metrics), iters)
    plots = bodies(conn, company, rows)
    return {"plots": plots, "returned": len(plots), "total": len(plots), "scroll_id": None}


def multi_task_plots(
    conn: Connection,
    company: str,
    task_ids: Sequence[str],
    *,
    iters: int = 1,
    metrics: MetricVariants | None = None,
    last_iters_per_task_metric: bool = True,
    models: bool = False,
    scroll_id: str | None = None,
    no_scroll: bool = False,
) -> dict[str, Any]:
    """events.get_multi_task_plots: {metric: {variant: {task: {iter: {name, plots}}}}}.

    Every plot comes in the first answer; unless `no_scroll`, it carries a scroll id that
    says so, and the call with that id answers none (`returned` 0). ClearML's web UI asks
    again with the scroll id for as long as an answer returned plots: without an end to
    reach it would ask forever."""
    names = task_names(conn, company, task_ids, models=models)
    per = "metric" if last_iters_per_task_metric else "variant"
    rows = last_iterations(index(conn, company, list(names), PLOT, metrics), iters, per=per)
    if scroll_id:
        decode_token(_PLOTS_SCROLL, scroll_id, _PlotsScroll)  # 400 for one not ours
        return {"plots": {}, "returned": 0, "total": len(rows), "scroll_id": scroll_id}
    out: dict[str, Any] = {}
    for row, body in zip(rows, bodies(conn, company, rows), strict=True):
        by_iter = out.setdefault(row.metric, {}).setdefault(row.variant, {})
        entry = by_iter.setdefault(row.task, {}).setdefault(
            str(row.iter), {"name": names[row.task], "plots": []}
        )
        entry["plots"].append(body)
    done = None if no_scroll else encode_token(_PLOTS_SCROLL, _PlotsScroll(done=True))
    return {"plots": out, "returned": len(rows), "total": len(rows), "scroll_id": done}


_PLOTS_SCROLL = "mtp1"


class _PlotsScroll(msgspec.Struct, frozen=True):
    """get_multi_task_plots' scroll state: everything has been answered."""

    done: bool


def task_metrics(
    conn: Connection, company: str, task_ids: Sequence[str], kind: str, *, models: bool = False
) -> dict[str, list[str]]:
    """The metrics each task reported events of `kind` for (console lines: "log")."""
    task_names(conn, company, task_ids, models=models)
    if kind == "log":
        line = task_log_lines.c
        query = (
            select(line.task_id, line.metric)
            .where(line.company == company, line.task_id.in_(list(task_ids)), line.metric != "")
            .distinct()
        )
    else:
        query = (
            select(_ev.task_id, _ev.metric)
            .where(_ev.company == company, _ev.task_id.in_(list(task_ids)), _ev.type == kind)
            .distinct()
        )
    out: dict[str, list[str]] = {t: [] for t in task_ids}
    for task, metric in conn.execute(query):
        out[task].append(metric)
    return {t: sorted(m) for t, m in out.items()}


def multi_task_metrics(
    conn: Connection,
    company: str,
    task_ids: Sequence[str],
    kind: str | None,
    *,
    models: bool = False,
) -> dict[str, list[str]]:
    """{metric: sorted variants} of these tasks' reports of `kind` (all kinds: None; console
    lines that name a metric: "log")."""
    task_names(conn, company, task_ids, models=models)
    if kind == "log":
        line = task_log_lines.c
        query = (
            select(line.metric, line.variant)
            .where(line.company == company, line.task_id.in_(list(task_ids)), line.metric != "")
            .distinct()
        )
    else:
        wanted = [_ev.company == company, _ev.task_id.in_(list(task_ids))]
        if kind is not None:
            wanted.append(_ev.type == kind)
        query = select(_ev.metric, _ev.variant).where(*wanted).distinct()
    out: dict[str, set[str]] = {}
    for metric, variant in conn.execute(query):
        out.setdefault(metric, set()).add(variant)
    return {m: sorted(v) for m, v in sorted(out.items())}


def vectors(
    conn: Connection, company: str, task: str, metric: str, variant: str, *, models: bool = False
) -> dict[str, Any]:
    """events.vector_metrics_iter_histogram: a vector series' values by iteration."""
    task_names(conn, company, [task], models=models)
    rows = index(conn, company, [task], VECTOR, {metric: [variant]})
    rows = sorted(rows, key=lambda r: (r.iter, r.seq))[:MAX_VECTORS]
    found = bodies(conn, company, rows)
    return {
        "metric": metric,
        "variant": variant,
        "vectors": [b.get("value", b.get("values")) for b in found],
        "iterations": [r.iter for r in rows],
    }
