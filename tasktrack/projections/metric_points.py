"""`task_metric_points`, `task_metric_series`, `task_runs`: every scalar point, per run, with
running totals in iteration order, so a histogram bucket's mean is two index probes.

Per batch, Python groups the points by series, keeps the later report of a repeated iteration
and sorts each series (cheap for a report's few hundred points); one statement then continues
each series' stored totals and inserts (projections/metric_points_sql.py). Points are keyed by
the series' 64-bit id (projections/series_ids.py), not its five columns. Inline the statement
is pipelined with the command's others (no round trip); a replay writes a whole batch with it.
A reset moves the task to its next run (older runs' points stay, readable with all_runs); a
deleted task's rows are removed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, MutableMapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.metrics import EXACT_DIGITS, NONFINITE_NAMES, encode_value
from tasktrack.domain.models import model_of
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections import metric_points_sql as sql
from tasktrack.projections import pinning
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.series_ids import series_id
from tasktrack.projections.tenants import companies, replayed_owner

# A series within a batch: (company, task, resets before it in the batch, metric, variant).
SeriesKey = tuple[str, str, int, str, str]
# Its points: iteration -> (value as exact text, timestamp), the later report of an iteration
# replacing the earlier (dict assignment).
Points = dict[int, tuple[str, int]]
_KEY_COLUMNS = ("company", "task", "offset", "metric", "variant")
_POINT_COLUMNS = ("company", "series_id", "iter", "value", "timestamp", "finite_n", "finite_sum")
_SERIES_COLUMNS = (
    "company",
    "task_id",
    "run",
    "metric",
    "variant",
    "series_id",
    "points",
    "first_iter",
    "last_iter",
)
# The points one statement writes at most (a replay's batch is cut into chunks of about this).
CHUNK_POINTS = 20_000


def exact_text(value: float | str) -> str:
    """A point's value as the text SQL parses: the shortest round-tripping decimal (repr),
    or the name of a non-finite value."""
    if isinstance(value, str):
        return value
    return repr(value) if math.isfinite(value) else str(encode_value(value))


def chunks(batch: Sequence[Recorded], limit: int = CHUNK_POINTS) -> Iterator[list[Recorded]]:
    """The batch cut, in order, into runs of reports holding about `limit` points at most."""
    chunk: list[Recorded] = []
    size = 0
    for record in batch:
        if isinstance(record.event, ev.MetricsReported | ev.ModelMetricsReported):
            size += len(record.event.series)
        chunk.append(record)
        if size >= limit:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def gather(
    batch: Sequence[Recorded], tenants: dict[str, str], offsets: dict[str, int]
) -> dict[SeriesKey, Points]:
    """The batch's points by series (in order of first appearance); `offsets` counts each
    task's resets so far in the batch (updated here, carried across chunks).

    Order within the batch: a task's points before a reset belong to its run then, the ones
    after to the next (the key's offset counts the task's resets so far in the batch; SQL adds
    the stored run, which moves on only after the whole batch's points are written).
    """
    found: dict[SeriesKey, Points] = {}
    for record in batch:
        task, event = _owner(record), record.event
        company = tenants.get(task)
        if company is None:
            continue
        if isinstance(event, ev.TaskReset):
            offsets[task] = offsets.get(task, 0) + 1
            continue
        if not isinstance(event, ev.MetricsReported | ev.ModelMetricsReported):
            continue
        offset = offsets.get(task, 0)
        into(
            event,
            [
                found.setdefault((company, task, offset, m, v), {})
                for m, v in zip(event.metrics, event.variants, strict=True)
            ],
        )
    return {k: v for k, v in found.items() if v}


def _owner(record: Recorded) -> str:
    """Whose series a record's points are: its task's, or its model's (model_event)."""
    if isinstance(record.event, ev.MODEL_EVENTS):
        return model_of(record.stream_id)
    return record.stream_id


def into(event: ev.MetricsReported | ev.ModelMetricsReported, series: list[Points]) -> None:
    """A report's points into their series' points (`series` in the report's series order):
    a missing iteration counts as 0, and a later point of an iteration replaces the earlier."""
    for s, it, value, ts in zip(
        event.series, event.iters, event.values, event.timestamps, strict=True
    ):
        series[s][0 if it is None else it] = (exact_text(value), ts)


def columns(found: dict[SeriesKey, Points]) -> dict[str, Any]:
    """The write statement's parameters: arrays with one entry per series, then one entry per
    point (its series' ordinal, 1-based, and its fields), each series' points in increasing
    iteration. The points' arrays go as comma-separated text: psycopg adapts a list element by
    element in Python, which cost more than the statement for a report of 500 points (numbers
    and the names of non-finite values hold no comma)."""
    out: dict[str, list[Any]] = {
        k: [] for k in (*_KEY_COLUMNS, "since", "until", "count", "sn", "iter", "value", "ts")
    }
    for sn, (key, points) in enumerate(found.items(), start=1):
        iters = sorted(points)
        for name, part in zip(_KEY_COLUMNS, key, strict=True):
            out[name].append(part)
        out["since"].append(iters[0])
        out["until"].append(iters[-1])
        out["count"].append(len(iters))
        out["sn"].extend([sn] * len(iters))
        out["iter"].extend(iters)
        for it in iters:
            value, ts = points[it]
            out["value"].append(value)
            out["ts"].append(ts)
    params: dict[str, Any] = dict(out)
    for name in ("sn", "iter", "value", "ts"):
        params[name] = ",".join(map(str, out[name]))
    return params


@functools.cache  # one set per table names: projectors are made per command
def _statements(
    points: str, series: str, runs: str
) -> tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...]]:
    write = sql.write_sql(points, series, runs)
    return (
        write,
        pinning.pin(write, sql.TENANT_JOINS),
        sql.worker_sql(points, series, runs),  # on Citus, run by the tenant's worker
        sql.runs_sql(runs),
        sql.run_sql(runs),
        tuple(sql.delete_sql(points, series, runs)),
        tuple(sql.delete_pinned_sql(points, series, runs)),
    )


class MetricPointsProjector(StreamReplay):
    name = "task_metric_points"
    kinds = frozenset({"task", "model"})

    def __init__(
        self,
        points: str = "task_metric_points",
        series: str = "task_metric_series",
        runs: str = "task_runs",
    ) -> None:
        self.tables = (points, series, runs)
        # The live tables (not a rebuild's or verify's twins): on Citus, run on its worker.
        self._live = self.tables == ("task_metric_points", "task_metric_series", "task_runs")
        (
            self._write,
            self._write_pinned,
            self._write_delegated,
            self._runs,
            self._run,
            self._delete,
            self._delete_pinned,
        ) = _statements(points, series, runs)
        # events.delete_for_task: the task's points and series of every run go, its run stays.
        self._clear_pinned = self._delete_pinned[:2]

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # A stream ends with its deletion: a task deleted in the batch gets nothing written.
        gone = {r.stream_id for r in batch if isinstance(r.event, ev.TaskDeleted)}
        gone_models = {
            model_of(r.stream_id): r.metadata.company
            for r in batch
            if isinstance(r.event, ev.ModelDeleted)
        }
        mine = [
            r
            for r in batch
            if isinstance(r.event, ev.MetricsReported | ev.TaskReset | ev.TaskEventsDeleted)
            and r.stream_id not in gone
        ]
        models = [
            r
            for r in batch
            if isinstance(r.event, ev.ModelMetricsReported)
            and model_of(r.stream_id) not in gone_models
        ]
        tenants = companies(conn, {r.stream_id for r in mine} | gone, states)
        # A model's tenant is the company its events name (chain-checked, domain/chain.py).
        tenants.update({model_of(r.stream_id): r.metadata.company for r in models})
        tenants.update(gone_models)
        self._points(conn, models, tenants)
        gone |= set(gone_models)
        # What comes before a delete_for_task is written before the delete clears it.
        segment: list[Recorded] = []
        for record in mine:
            if not isinstance(record.event, ev.TaskEventsDeleted):
                segment.append(record)
                continue
            self._points(conn, segment, tenants)
            segment = []
            company = tenants.get(record.stream_id)
            for statement in self._clear_pinned if company is not None else ():
                conn.execute(statement, {"tenant": company, "task": [record.stream_id]})
        self._points(conn, segment, tenants)
        dropped = sorted((tenants[t], t) for t in gone if t in tenants)
        params = {"company": [c for c, _ in dropped], "task": [t for _, t in dropped]}
        for plain, pinned in zip(self._delete, self._delete_pinned, strict=True):
            if dropped:
                pinning.execute(conn, plain, pinned, params, live=self._live)

    def _points(
        self, conn: psycopg.Connection[Any], mine: list[Recorded], tenants: dict[str, str]
    ) -> None:
        # A replay batch holds up to 4 MB of reports (a few hundred thousand points): written
        # a chunk at a time, so the Python copies of the points (by series, then as the
        # statement's arrays) stay small. A later chunk that repeats an iteration of an
        # earlier one reads the rows that one wrote (same transaction): the same result.
        offsets: dict[str, int] = {}
        for chunk in chunks(mine, CHUNK_POINTS):
            found = gather(chunk, tenants, offsets)
            if found:
                pinning.execute(
                    conn,
                    self._write,
                    self._write_pinned,
                    columns(found),
                    live=self._live,
                    delegated=self._write_delegated,
                )
        reset = sorted(offsets)
        rows = [(tenants[t], t, offsets[t]) for t in reset]
        if len({company for company, _, _ in rows}) == 1:
            # A command's resets (one tenant's): a row each, pipelined, on the tenant's shard.
            with conn.cursor() as cur:
                cur.executemany(self._run, rows)
        elif rows:
            conn.execute(self._runs, tuple(map(list, zip(*rows, strict=True))))

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live task's (or model's) points, run by run, each series sorted once with its
        running totals summed in one pass (exact decimals, as SQL's numeric sums them), then
        its series and run rows: what the batch statement leaves, whatever order the reports
        came in."""
        owner = replayed_owner(stream)
        if owner is None:
            return
        owner_id, company = owner
        run = 0
        found: dict[tuple[str, str], Points] = {}
        done: list[tuple[int, dict[tuple[str, str], Points]]] = []
        for record in stream.records:
            event = record.event
            if isinstance(event, ev.TaskReset):
                done.append((run, found))
                run, found = run + 1, {}
            elif isinstance(event, ev.TaskEventsDeleted):
                done, found = [], {}  # every run's points so far go; the run stays
            elif isinstance(event, ev.MetricsReported | ev.ModelMetricsReported):
                keys = zip(event.metrics, event.variants, strict=True)
                into(event, [found.setdefault(k, {}) for k in keys])
        for number, points in [*done, (run, found)]:
            self._emit(out, company, owner_id, number, points)
        if run:
            out.add(self.tables[2], ("company", "task_id", "run"), (company, owner_id, run))

    def _emit(
        self, out: Rows, company: str, task: str, run: int, found: dict[tuple[str, str], Points]
    ) -> None:
        points, series, _ = self.tables
        with localcontext() as ctx:
            ctx.prec = EXACT_DIGITS
            for (metric, variant), by_iter in found.items():
                if not by_iter:
                    continue
                sid = series_id(company, task, run, metric, variant)
                n, total = 0, Decimal(0)
                iters = sorted(by_iter)
                for it in iters:
                    text, ts = by_iter[it]
                    if text not in NONFINITE_NAMES:
                        n += 1
                        total += Decimal(text)
                    out.add(points, _POINT_COLUMNS, (company, sid, it, float(text), ts, n, total))
                out.add(
                    series,
                    _SERIES_COLUMNS,
                    (company, task, run, metric, variant, sid, len(iters), iters[0], iters[-1]),
                )
