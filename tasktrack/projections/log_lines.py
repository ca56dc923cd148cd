"""`task_log_lines`: a task's console output, one row per line, numbered in arrival order.

One statement per batch writes every line of it (all tasks, arrays unnested in SQL): each task's
lines continue its numbering from its last stored `seq`, read in the same statement, so the
inline path costs no round trip (it is pipelined with the command's other statements) and a
replay writes a whole batch of reports at once. A deleted task's lines are removed.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.tenants import companies

_json = msgspec.json.Encoder()
# The JSON escape of a NUL. A line whose level, worker or msg encodes to text holding it is
# stored JSON-encoded (text cannot hold a NUL); migration 0012 applies the same rule to the
# JSON text of the log, so both write the same rows.
NUL_ESCAPE = "\\u0000"


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
        %(encoded)s::bool[]
    ) AS l(company, task_id, ord, timestamp, level, worker, msg, iter, json_encoded)
), top AS MATERIALIZED (
    SELECT t.company, t.task_id, coalesce((
        SELECT max(x.seq) FROM {table} x WHERE x.company = t.company AND x.task_id = t.task_id
    ), 0) AS seq
    FROM (SELECT DISTINCT company, task_id FROM l) AS t
)
INSERT INTO {table} (company, task_id, seq, timestamp, level, worker, msg, iter, json_encoded)
SELECT l.company, l.task_id, top.seq + l.ord, l.timestamp, l.level, l.worker, l.msg, l.iter,
    l.json_encoded
FROM l JOIN top USING (company, task_id)
ORDER BY l.company, l.task_id, l.ord
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
)


def stored_fields(level: str, worker: str | None, msg: str) -> tuple[str, str | None, str, bool]:
    """(level, worker, msg, json_encoded) as stored: as is, or all three as JSON strings."""
    encoded = [_json.encode(x).decode() for x in (level, worker, msg)]
    if not any(NUL_ESCAPE in x for x in encoded):
        return level, worker, msg, False
    return encoded[0], None if worker is None else encoded[1], encoded[2], True


class LogLinesProjector(StreamReplay):
    name = "task_log_lines"

    def __init__(self, table: str = "task_log_lines") -> None:
        self.table = table
        self._insert = _insert_sql(table)

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # A stream ends with its deletion, so every line of a task deleted in this batch came
        # before it: they are not written at all, and its stored lines are deleted.
        gone = {r.stream_id for r in batch if isinstance(r.event, ev.TaskDeleted)}
        logged = [
            r for r in batch if isinstance(r.event, ev.TaskLogged) and r.stream_id not in gone
        ]
        tenants = companies(conn, {r.stream_id for r in logged} | gone, states)
        columns: dict[str, list[Any]] = {
            k: [] for k in ("company", "task", "ord", "ts", "level", "worker", "msg", "iter")
        }
        columns["encoded"] = []
        counts: dict[str, int] = {}
        for record in logged:
            event = record.event
            assert isinstance(event, ev.TaskLogged)
            task = record.stream_id
            company = tenants.get(task)
            if company is None:
                continue
            for ts, level, worker, msg, it in zip(
                event.timestamps, event.levels, event.workers, event.msgs, event.iters, strict=True
            ):
                counts[task] = counts.get(task, 0) + 1
                stored = stored_fields(level, worker, msg)
                for key, value in zip(
                    columns,
                    (company, task, counts[task], ts, *stored[:3], it, stored[3]),
                    strict=True,
                ):
                    columns[key].append(value)
        if columns["task"]:
            conn.execute(self._insert, columns)
        dropped = [(tenants[t], t) for t in sorted(gone) if t in tenants]
        if dropped:
            conn.execute(
                f"DELETE FROM {self.table} WHERE (company, task_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([c for c, _ in dropped], [t for _, t in dropped]),
            )

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live task's lines, numbered 1, 2, 3, … in the order they arrived."""
        if stream.state is None or stream.state.deleted:
            return
        company, seq = stream.state.company, 0
        for record in stream.records:
            event = record.event
            if not isinstance(event, ev.TaskLogged):
                continue
            for ts, level, worker, msg, it in zip(
                event.timestamps, event.levels, event.workers, event.msgs, event.iters, strict=True
            ):
                seq += 1
                stored = stored_fields(level, worker, msg)
                out.add(
                    self.table,
                    _COLUMNS,
                    (company, stream.id, seq, ts, *stored[:3], it, stored[3]),
                )
