"""Metric series for analysts: every point of a task's (metric, variant), read from its stream.

Points live only in the log (one compact event per report), read through the (stream_id,
stream_version) index: the cost grows with this task's reports, never with other tasks'.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, Text, cast, select

from tasktrack.domain import codec
from tasktrack.domain import events as ev
from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.metrics import decode_value
from tasktrack.store.tables import events, tasks


class SeriesView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One (metric, variant): iterations, values and report times (epoch ms), by iteration.

    With all runs, `runs` says which run (0 = the first, each reset starts the next) each point
    belongs to; points are ordered by run, then iteration.
    """

    name: str
    x: list[int]
    y: list[float]
    timestamps: list[int]
    runs: list[int] | None = None


Series = dict[str, dict[str, SeriesView]]


def _visible(conn: Connection, company: str, task_id: str) -> None:
    row = conn.execute(
        select(tasks.c.id).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if row is None:
        raise TaskNotFound(task_id)


def scalar_series(
    conn: Connection,
    company: str,
    task_id: str,
    *,
    metric: str | None = None,
    all_runs: bool = False,
) -> Series:
    """{metric: {variant: series}} of the current run (after the last reset) or of all runs.

    A (metric, variant, iter) reported twice in a run shows the later report's value.
    """
    _visible(conn, company, task_id)
    rows = conn.execute(
        select(events.c.type, events.c.schema_version, cast(events.c.data, Text))
        .where(
            events.c.stream_id == task_id,
            events.c.type.in_(["MetricsReported", "TaskReset"]),
        )
        .order_by(events.c.stream_version)
    )
    run = 0
    # (metric, variant) -> (run, iter) -> (value, timestamp); later reports overwrite.
    points: dict[tuple[str, str], dict[tuple[int, int], tuple[float, int]]] = {}
    for type_name, schema_version, data in rows:
        if type_name == "TaskReset":
            run += 1
            if not all_runs:
                points.clear()
            continue
        event = codec.decode(type_name, schema_version, data)
        assert isinstance(event, ev.MetricsReported)
        _collect(event, run, metric, points)
    out: Series = {}
    for (m, variant), by_key in points.items():
        keys = sorted(by_key)
        out.setdefault(m, {})[variant] = SeriesView(
            name=variant,
            x=[k[1] for k in keys],
            y=[by_key[k][0] for k in keys],
            timestamps=[by_key[k][1] for k in keys],
            runs=[k[0] for k in keys] if all_runs else None,
        )
    return out


def _collect(
    event: ev.MetricsReported,
    run: int,
    metric: str | None,
    points: dict[tuple[str, str], dict[tuple[int, int], tuple[float, int]]],
) -> None:
    wanted = [metric is None or m == metric for m in event.metrics]
    for i, s in enumerate(event.series):
        if not wanted[s]:
            continue
        it = event.iters[i]
        key = (event.metrics[s], event.variants[s])
        points.setdefault(key, {})[(run, 0 if it is None else it)] = (
            decode_value(event.values[i]),
            event.timestamps[i],
        )
