"""`task_log_lines`: a task's console output, one row per line, numbered in arrival order.

One statement per batch writes every line of it (all tasks, arrays unnested in SQL): each task's
lines continue its numbering from its last stored `seq`, read in the same statement, so the
inline path costs no round trip (it is pipelined with the command's other statements) and a
replay writes a whole batch of reports at once. A deleted task's lines are removed.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping, Sequence
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections import pinning
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.tenants import companies

_json = msgspec.json.Encoder()
# The JSON escape of a NUL. A line whose level, worker or msg encodes to text holding it is
# stored JSON-encoded (text cannot hold a NUL); migration 0012 applies the same rule to the
# JSON text of the log, so both write the same rows.
NUL_ESCAPE = "\\u0000"


@functools.cache  # one per table name: projectors are made per command
def _insert_sql(table: str) -> str:
    # `top` (each task's last stored line) is read once per task, and wholly before the first
    # row is inserted: the sort is a barrier. Read while inserting, each probe of the index
    # would step over every line this statement had added so far (invisible to it, but
    # checked one by one): quadratic in the batch.
    return f"""
WITH l AS (
    SELECT * FROM unnest(
        %(company)s::text[], %(task)s::text[], %(ord)s::int8[], %(ts)s::int8[],
        %(level)s::text[], %(worker)s::text[], %(msg)s::text[], %(iter)s::int8[],
        %(encoded)s::bool[], %(metric)s::text[], %(variant)s::text[]
    ) AS l(company, task_id, ord, timestamp, level, worker, msg, iter, json_encoded, metric,
        variant)
), top AS MATERIALIZED (
    SELECT t.company, t.task_id, coalesce((
        SELECT max(x.seq) FROM {table} x WHERE x.company = t.company AND x.task_id = t.task_id
    ), 0) AS seq
    FROM (SELECT DISTINCT company, task_id FROM l) AS t
)
INSERT INTO {table} (company, task_id, seq, timestamp, level, worker, msg, iter, json_encoded,
    metric, variant)
SELECT l.company, l.task_id, top.seq + l.ord, l.timestamp, l.level, l.worker, l.msg, l.iter,
    l.json_encoded, l.metric, l.variant
FROM l JOIN top USING (company, task_id)
ORDER BY l.company, l.task_id, l.ord
"""


@functools.cache
def _pinned(table: str) -> str:
    return pinning.pin(_insert_sql(table), ("x.company = t.company",))


@functools.cache  # one per table name: projectors are made per command
def _clear_sql(table: str) -> str:
    # The cleared lines go, and the others are numbered 1, 2, 3, … again in their order (as
    # a replay numbers what is left), so `seq` stays the task's count of lines. In two steps
    # through negative numbers: the primary key is checked row by row, and a line moving down
    # onto a number another line still holds would clash.
    return f"""
WITH gone AS (
    DELETE FROM {table} WHERE company = %(company)s AND task_id = %(task)s
        AND (%(before)s::int8 IS NULL OR timestamp < %(before)s::int8)
        AND (%(include)s::text[] IS NULL OR metric = ANY(%(include)s::text[]))
        AND (%(exclude)s::text[] IS NULL OR metric <> ALL(%(exclude)s::text[]))
    RETURNING seq
)
SELECT count(*) FROM gone;
UPDATE {table} t SET seq = -r.n FROM (
    SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM {table}
    WHERE company = %(company)s AND task_id = %(task)s
) r WHERE t.company = %(company)s AND t.task_id = %(task)s AND t.seq = r.seq;
UPDATE {table} SET seq = -seq WHERE company = %(company)s AND task_id = %(task)s AND seq < 0;
"""


_COLUMNS = (
    "company",
    "task_id",
    "seq",
    "timestamp",
    "level",
    "worker",
    "msg",
    "iter",
    "json_encoded",
    "metric",
    "variant",
)


def stored_fields(level: str, worker: str | None, msg: str) -> tuple[str, str | None, str, bool]:
    """(level, worker, msg, json_encoded) as stored: as is, or all three as JSON strings."""
    encoded = [_json.encode(x).decode() for x in (level, worker, msg)]
    if not any(NUL_ESCAPE in x for x in encoded):
        return level, worker, msg, False
    return encoded[0], None if worker is None else encoded[1], encoded[2], True


Line = tuple[int, str, str | None, str, int | None, str, str]  # ts, level, worker, msg, iter, …


def lines_of(event: ev.TaskLogged) -> list[Line]:
    """A report's lines: (timestamp, level, worker, msg, iter, metric, variant)."""
    n = len(event.msgs)
    metrics = event.metrics or [""] * n
    variants = event.variants or [""] * n
    return list(
        zip(
            event.timestamps,
            event.levels,
            event.workers,
            event.msgs,
            event.iters,
            metrics,
            variants,
            strict=True,
        )
    )


def cleared(event: ev.TaskLogCleared, line: Line) -> bool:
    """Whether a clear takes this line (the same test as the SQL's)."""
    ts, metric = line[0], line[5]
    return (
        (event.before is None or ts < event.before)
        and (event.include_metrics is None or metric in event.include_metrics)
        and (event.exclude_metrics is None or metric not in event.exclude_metrics)
    )


class LogLinesProjector(StreamReplay):
    name = "task_log_lines"

    def __init__(self, table: str = "task_log_lines") -> None:
        self.table = table
        # The live table (not a rebuild's or verify's twin): on Citus, run on its worker.
        self._live = table == "task_log_lines"
        self._insert = _insert_sql(table)
        self._insert_pinned = _pinned(table)
        self._clear = _clear_sql(table)

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # A stream ends with its deletion, so every line of a task deleted in this batch came
        # before it: they are not written at all, and its stored lines are deleted. Lines are
        # written in one statement per run of reports between two clears (a clear must see
        # the lines before it and none after).
        gone = {r.stream_id for r in batch if isinstance(r.event, ev.TaskDeleted)}
        wanted = [
            r
            for r in batch
            if isinstance(r.event, ev.TaskLogged | ev.TaskLogCleared | ev.TaskEventsDeleted)
            and r.stream_id not in gone
        ]
        tenants = companies(conn, {r.stream_id for r in wanted} | gone, states)
        pending: list[Recorded] = []
        for record in wanted:
            if isinstance(record.event, ev.TaskLogged):
                pending.append(record)
                continue
            self._write(conn, pending, tenants)
            pending = []
            company = tenants.get(record.stream_id)
            if company is not None:
                self._apply_clear(conn, company, record.stream_id, record.event)
        self._write(conn, pending, tenants)
        dropped = [(tenants[t], t) for t in sorted(gone) if t in tenants]
        if dropped:
            where, params = pinning.keys_where("task_id", dropped)
            conn.execute(f"DELETE FROM {self.table} WHERE {where}", params)

    def _apply_clear(
        self, conn: psycopg.Connection[Any], company: str, task: str, event: ev.AnyEvent
    ) -> None:
        if isinstance(event, ev.TaskEventsDeleted):  # every line goes
            params: dict[str, Any] = {"before": None, "include": None, "exclude": None}
        else:
            assert isinstance(event, ev.TaskLogCleared)
            params = {
                "before": event.before,
                "include": event.include_metrics,
                "exclude": event.exclude_metrics,
            }
        params.update(company=company, task=task)
        for statement in self._clear.split(";"):
            if statement.strip():
                conn.execute(statement, params)

    def _write(
        self, conn: psycopg.Connection[Any], logged: list[Recorded], tenants: dict[str, str]
    ) -> None:
        names = ("company", "task", "ord", "ts", "level", "worker", "msg", "iter", "encoded")
        columns: dict[str, list[Any]] = {k: [] for k in (*names, "metric", "variant")}
        counts: dict[str, int] = {}
        for record in logged:
            event = record.event
            assert isinstance(event, ev.TaskLogged)
            task = record.stream_id
            company = tenants.get(task)
            if company is None:
                continue
            for ts, level, worker, msg, it, metric, variant in lines_of(event):
                counts[task] = counts.get(task, 0) + 1
                stored = stored_fields(level, worker, msg)
                row = (company, task, counts[task], ts, *stored[:3], it, stored[3], metric, variant)
                for key, value in zip(columns, row, strict=True):
                    columns[key].append(value)
        if columns["task"]:
            pinning.execute(conn, self._insert, self._insert_pinned, columns, live=self._live)

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live task's lines, numbered 1, 2, 3, … in the order they arrived (what clears
        left of them)."""
        if stream.state is None or stream.state.deleted:
            return
        company = stream.state.company
        kept: list[Line] = []
        for record in stream.records:
            event = record.event
            if isinstance(event, ev.TaskLogged):
                kept += lines_of(event)
            elif isinstance(event, ev.TaskLogCleared):
                kept = [line for line in kept if not cleared(event, line)]
            elif isinstance(event, ev.TaskEventsDeleted):
                kept = []
        for seq, (ts, level, worker, msg, it, metric, variant) in enumerate(kept, start=1):
            stored = stored_fields(level, worker, msg)
            out.add(
                self.table,
                _COLUMNS,
                (company, stream.id, seq, ts, *stored[:3], it, stored[3], metric, variant),
            )
