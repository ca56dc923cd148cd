"""Scalar series (events.scalar_metrics_iter_histogram), sampled in SQL from the series tables.

As ClearML: a series with fewer points than `samples` comes whole (interval 1); a longer one
is cut into buckets of `interval = ceil((last - first + 1) / samples)` iterations, keyed by
`k * interval`, each showing the mean of its values. A bucket's mean is the difference of the
running totals (task_metric_points) at its two ends, found by one index probe per bucket, so a
request reads O(samples) rows per series, whatever the series' length. Non-finite values stay
in the series but out of the means; a bucket without a finite value shows its last point's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Connection,
    Double,
    Integer,
    Numeric,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    select,
    true,
    values,
)

from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.model_errors import ModelNotFound
from tasktrack.store.tables import models as model_rows
from tasktrack.store.tables import (
    task_metric_points,
    task_metric_series,
    task_metrics,
    task_runs,
    tasks,
)

DEFAULT_SAMPLES = 6000
# ClearML's single values (report_single_value) are scalars at this iteration: they are read by
# events.get_task_single_value_metrics and kept out of the histogram.
SINGLE_VALUE_ITER = -(2**31)
# At most this many buckets per series and run; 0 (or anything outside 1..MAX) means MAX.
MAX_SAMPLES = 10_000
_INT64_MAX = 2**63 - 1


class SeriesView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One (metric, variant): iterations (bucket keys), values (bucket means) and report times
    (epoch ms, of each bucket's last point), by iteration.

    With all runs, `runs` says which run (0 = the first, each reset starts the next) each point
    belongs to; points are ordered by run, then iteration.
    """

    name: str
    x: list[int]
    y: list[float]
    timestamps: list[int]
    runs: list[int] | None = None
    # The label of the x axis the series' last report named (its last_metrics'), as ClearML.
    x_axis_label: str | None = None


Series = dict[str, dict[str, SeriesView]]


class _Head(msgspec.Struct, frozen=True):
    """A series of one run, and how it is sampled."""

    run: int
    metric: str
    variant: str
    series_id: int
    step: int  # the interval; 1 means every point
    lo: int  # the first bucket's k (first_iter // step)
    hi: int  # the last bucket's k
    base_n: int = 0  # the running totals of a single value before the series' first point
    base_sum: Any = 0


def clamp_samples(samples: int) -> int:
    return samples if 0 < samples <= MAX_SAMPLES else MAX_SAMPLES


def interval(points: int, first_iter: int, last_iter: int, samples: int) -> int:
    """ClearML's `_build_metric_interval`: 1 below `samples` points, else the iteration range
    divided into `samples` buckets, rounded up."""
    if points < samples:
        return 1
    return max(1, -(-(last_iter - first_iter + 1) // samples))


def scalar_series(
    conn: Connection,
    company: str,
    task_id: str,
    *,
    metric: str | None = None,
    all_runs: bool = False,
    samples: int = DEFAULT_SAMPLES,
    models: bool = False,
) -> Series:
    """{metric: {variant: series}} of the current run (after the last reset) or of all runs.

    A (metric, variant, iter) reported twice in a run shows the later report's value.
    """
    samples = clamp_samples(samples)
    heads = list(
        enumerate(
            _heads(
                conn,
                company,
                task_id,
                metric=metric,
                all_runs=all_runs,
                samples=samples,
                models=models,
            )
        )
    )
    whole = [(i, h) for i, h in heads if h.step == 1]
    sampled = [(i, h) for i, h in heads if h.step > 1]
    found: dict[int, list[tuple[int, float, int]]] = {}
    for i, x, y, ts in [
        *(_points(conn, company, whole) if whole else ()),
        *(_buckets(conn, company, sampled) if sampled else ()),
    ]:
        found.setdefault(i, []).append((x, y, ts))
    # (metric, variant) -> x, y, timestamps, runs; heads come by run within a series.
    columns: dict[tuple[str, str], tuple[list[Any], ...]] = {}
    for i, head in heads:
        xs, ys, stamps, runs = columns.setdefault((head.metric, head.variant), ([], [], [], []))
        for x, y, ts in found.get(i, []):
            xs.append(x)
            ys.append(y)
            stamps.append(ts)
            runs.append(head.run)
    labels = _labels(conn, company, task_id) if columns else {}
    out: Series = {}
    for (m, v), (xs, ys, stamps, runs) in columns.items():
        out.setdefault(m, {})[v] = SeriesView(
            name=v,
            x=xs,
            y=ys,
            timestamps=stamps,
            runs=runs if all_runs else None,
            x_axis_label=labels.get((m, v)),
        )
    return out


def _labels(conn: Connection, company: str, task_id: str) -> dict[tuple[str, str], str]:
    """The x axis label of each of a task's (or model's) series that has one."""
    m = task_metrics.c
    rows = conn.execute(
        select(m.metric, m.variant, m.x_axis_label).where(
            m.company == company, m.task_id == task_id, m.x_axis_label.is_not(None)
        )
    )
    return {(r[0], r[1]): r[2] for r in rows}


def _heads(
    conn: Connection,
    company: str,
    task_id: str,
    *,
    metric: str | None,
    all_runs: bool,
    samples: int,
    models: bool = False,
) -> list[_Head]:
    """The task's series of the run(s) asked for, in (metric, variant, run) order; raises
    TaskNotFound for a task the caller cannot see. One statement, one row per series. With
    `models` (model_events), the model's series (ModelNotFound for one it cannot see)."""
    owner = model_rows if models else tasks
    s = task_metric_series.c
    current = (
        select(func.coalesce(func.max(task_runs.c.run), 0))
        .where(task_runs.c.company == company, task_runs.c.task_id == task_id)
        .scalar_subquery()
    )
    joined = [s.company == company, s.task_id == task_id]
    if not all_runs:
        joined.append(s.run == current)
    if metric is not None:
        joined.append(s.metric == metric)
    rows = conn.execute(
        select(
            owner.c.id, s.run, s.metric, s.variant, s.series_id, s.points, s.first_iter, s.last_iter
        )
        .select_from(owner.outerjoin(task_metric_series, and_(*joined)))
        .where(owner.c.id == task_id, owner.c.company == company)
        .order_by(s.metric, s.variant, s.run)
    ).all()
    if not rows:
        raise ModelNotFound(task_id) if models else TaskNotFound(task_id)
    singles = _singles(
        conn, company, [r[4] for r in rows if r[1] is not None and r[6] == SINGLE_VALUE_ITER]
    )
    heads = []
    for _, run, m, v, series_id, count, lowest, last in rows:
        if run is None:
            continue  # the task has no series (the outer join's one empty row)
        points, first, base_n, base_sum = count, lowest, 0, 0
        if first == SINGLE_VALUE_ITER:
            # A single value leads the series: the histogram starts at the next point.
            following, base_n, base_sum = singles[series_id]
            if following is None:
                continue
            first, points = following, points - 1
        step = interval(points, first, last, samples)
        heads.append(
            _Head(run, m, v, series_id, step, first // step, last // step, base_n, base_sum)
        )
    return heads


def _singles(conn: Connection, company: str, series_ids: list[int]) -> dict[int, Any]:
    """Per series holding a single value: its next iteration, and the running totals the
    single value leaves (what the first bucket's mean must not count)."""
    if not series_ids:
        return {}
    p = task_metric_points.c
    n = task_metric_points.alias("n")
    following = (
        select(n.c.iter)
        .where(n.c.company == company, n.c.series_id == p.series_id, n.c.iter > SINGLE_VALUE_ITER)
        .order_by(n.c.iter)
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(p.series_id, following, p.finite_n, p.finite_sum).where(
            p.company == company,
            p.series_id.in_(series_ids),
            p.iter == SINGLE_VALUE_ITER,
        )
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _wanted(heads: Sequence[tuple[int, _Head]]) -> Any:
    """The series as a VALUES list (ord, series_id, step, lo, hi) to join on."""
    return values(
        column("ord", Integer),
        column("series_id", BigInteger),
        column("step", Numeric),  # up to 2**64 - 1 for a series spanning every iteration
        column("lo", BigInteger),
        column("hi", BigInteger),
        column("base_n", BigInteger),
        column("base_sum", Numeric),
        name="wanted",
    ).data([(i, h.series_id, h.step, h.lo, h.hi, h.base_n, h.base_sum) for i, h in heads])


def _of_series(wanted: Any, company: str) -> list[Any]:
    """The points of a wanted series (its id came from the task's own series rows)."""
    p = task_metric_points.c
    return [p.company == company, p.series_id == wanted.c.series_id]


def _points(
    conn: Connection, company: str, heads: Sequence[tuple[int, _Head]]
) -> list[tuple[int, int, float, int]]:
    """Every point of series sampled at interval 1 (fewer than `samples` each)."""
    p = task_metric_points.c
    wanted = _wanted(heads)
    rows = conn.execute(
        select(wanted.c.ord, p.iter, p.value, p.timestamp)
        .select_from(wanted)
        .join(
            task_metric_points,
            and_(*_of_series(wanted, company), p.iter != SINGLE_VALUE_ITER),
        )
        .order_by(wanted.c.ord, p.iter)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _buckets(
    conn: Connection, company: str, heads: Sequence[tuple[int, _Head]]
) -> list[tuple[int, int, float, int]]:
    """Each non-empty bucket of the sampled series: its key, mean and last point's time.

    For bucket k the probe finds the last point at or below its upper end, (k+1)*step - 1;
    the previous bucket's probe is the point before the bucket, so the bucket holds the points
    between the two and its finite values' sum and count are differences of running totals.
    """
    p = task_metric_points.c
    wanted = _wanted(heads)
    k = func.generate_series(wanted.c.lo, wanted.c.hi).table_valued("k").render_derived()
    upper = cast(
        func.least((cast(k.c.k, Numeric) + 1) * wanted.c.step - 1, literal(_INT64_MAX)),
        BigInteger,
    )
    last = (
        select(p.iter, p.value, p.timestamp, p.finite_n, p.finite_sum)
        .where(*_of_series(wanted, company), p.iter <= upper)
        .order_by(p.iter.desc())
        .limit(1)
        .lateral("last")
    )
    window = {"partition_by": wanted.c.ord, "order_by": k.c.k}
    probes = (
        select(
            wanted.c.ord,
            (cast(k.c.k, Numeric) * wanted.c.step).label("x"),
            last.c.iter,
            last.c.value,
            last.c.timestamp,
            (last.c.finite_n - func.lag(last.c.finite_n, 1, wanted.c.base_n).over(**window)).label(
                "n"
            ),
            (
                last.c.finite_sum - func.lag(last.c.finite_sum, 1, wanted.c.base_sum).over(**window)
            ).label("total"),
        )
        .select_from(wanted)
        .join(k, true())
        .join(last, true())
        .subquery("probes")
    )
    b = probes.c
    # The exact sum gets 20 more decimals before dividing (numeric division keeps the
    # dividend's scale), then one rounding to a double.
    mean = cast(func.round(b.total, func.scale(b.total) + 20) / b.n, Double)
    rows = conn.execute(
        select(b.ord, b.x, case((b.n > 0, mean), else_=b.value), b.timestamp)
        .where(b.iter >= b.x)
        .order_by(b.ord, b.x)
    ).all()
    return [(r[0], int(r[1]), r[2], r[3]) for r in rows]
