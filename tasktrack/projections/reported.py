"""`task_reported_events`: a task's plots, debug images and vectors, the later report of a
(type, metric, variant, iteration, key) replacing the earlier ("last image wins", as ClearML).

Only the current run is kept: a reset, a deletion or events.delete_for_task removes the task's
rows (the log keeps every report). `seq` numbers the task's reports since then in arrival
order (an overwritten row takes its new number), so the inline path and a replay give equal
rows.
The payload is kept as JSON text (exact, comparable; jsonb would refuse a NUL escape).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.models import model_of
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections import pinning
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.projections.tenants import companies, replayed_owner

_json = msgspec.json.Encoder()

COLUMNS = (
    "company",
    "task_id",
    "type",
    "metric",
    "variant",
    "iter",
    "key",
    "seq",
    "timestamp",
    "url",
    "body",
)
Key = tuple[str, str, str, int, str]  # type, metric, variant, iter, key


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def identity(body: dict[str, Any]) -> Key:
    """ClearML's event id, but for the task: (type, metric, variant, iter, key)."""
    it = body.get("iter")
    key = body.get("key")
    return (
        _text(body.get("type")),
        _text(body.get("metric")),
        _text(body.get("variant")),
        it if isinstance(it, int) and not isinstance(it, bool) else 0,
        "" if key is None else str(key),
    )


def _timestamp(body: dict[str, Any]) -> int:
    ts = body.get("timestamp")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        try:
            return int(ts)
        except (OverflowError, ValueError):
            return 0
    return 0


def bodies_of(event: ev.AnyEvent) -> list[dict[str, Any]]:
    """The reported events a log event carries (the current form, and the first one)."""
    if isinstance(event, ev.TaskEventsStored | ev.TaskEventsReported | ev.ModelEventsStored):
        return event.events
    return []


def row(company: str, task: str, seq: int, body: dict[str, Any]) -> tuple[Any, ...]:
    url = body.get("url")
    return (
        company,
        task,
        *identity(body),
        seq,
        _timestamp(body),
        url if isinstance(url, str) else None,
        _json.encode(body).decode(),
    )


def _insert_sql(table: str) -> str:
    # Each task's numbering continues from its last stored `seq`, read once per task before any
    # row is inserted (the MATERIALIZED barrier), as task_log_lines does.
    return f"""
WITH r AS (
    SELECT * FROM unnest(
        %(company)s::text[], %(task)s::text[], %(type)s::text[], %(metric)s::text[],
        %(variant)s::text[], %(iter)s::int8[], %(key)s::text[], %(ord)s::int8[],
        %(ts)s::int8[], %(url)s::text[], %(body)s::text[]
    ) AS r(company, task_id, type, metric, variant, iter, key, ord, timestamp, url, body)
), top AS MATERIALIZED (
    SELECT t.company, t.task_id, coalesce((
        SELECT max(x.seq) FROM {table} x WHERE x.company = t.company AND x.task_id = t.task_id
    ), 0) AS seq
    FROM (SELECT DISTINCT company, task_id FROM r) AS t
)
INSERT INTO {table} ({", ".join(COLUMNS)})
SELECT r.company, r.task_id, r.type, r.metric, r.variant, r.iter, r.key, top.seq + r.ord,
    r.timestamp, r.url, r.body
FROM r JOIN top USING (company, task_id)
ON CONFLICT (company, task_id, type, metric, variant, iter, key) DO UPDATE SET
    seq = EXCLUDED.seq, timestamp = EXCLUDED.timestamp, url = EXCLUDED.url,
    body = EXCLUDED.body
"""


class ReportedEventsProjector(StreamReplay):
    name = "task_reported_events"
    kinds = frozenset({"task", "model"})
    payloads = True  # a replay must read TaskEventsStored's payload for this projector

    def __init__(self, table: str = "task_reported_events") -> None:
        self.table = table
        self._insert = _insert_sql(table)
        self._insert_pinned = pinning.pin(self._insert, ("x.company = t.company",))

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        # Per task, in batch order: a reset or deletion drops what came before it in the batch
        # and the stored rows; what comes after is numbered on from zero.
        # A model's events (model_event) are keyed by the model's id, its tenant the company
        # its events name (chain-checked).
        cleared: set[str] = set()
        pending: dict[str, list[dict[str, Any]]] = {}
        models: dict[str, str] = {}
        for record in batch:
            event, owner = record.event, record.stream_id
            if isinstance(event, ev.MODEL_EVENTS):
                owner = model_of(owner)
                models[owner] = record.metadata.company
            if isinstance(
                event, ev.TaskReset | ev.TaskDeleted | ev.TaskEventsDeleted | ev.ModelDeleted
            ):
                cleared.add(owner)
                pending.pop(owner, None)
            elif bodies := bodies_of(event):
                pending.setdefault(owner, []).extend(bodies)
        if not cleared and not pending:
            return
        tenants = companies(conn, (set(pending) | cleared) - set(models), states)
        tenants.update(models)
        dropped = [(tenants[t], t) for t in sorted(cleared) if t in tenants]
        if dropped:
            conn.execute(
                f"DELETE FROM {self.table} WHERE (company, task_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([c for c, _ in dropped], [t for _, t in dropped]),
            )
        names = ("company", "task", "type", "metric", "variant", "iter", "key", "ord", "ts")
        columns: dict[str, list[Any]] = {k: [] for k in (*names, "url", "body")}
        for task, bodies in pending.items():
            company = tenants.get(task)
            if company is None:
                continue
            for values in _latest(company, task, bodies):
                for name, value in zip(columns, values, strict=True):
                    columns[name].append(value)
        if columns["task"]:
            pinning.execute(conn, self._insert, self._insert_pinned, columns)

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live task's (or model's) reports since its last reset, the later of a key
        winning."""
        owner = replayed_owner(stream)
        if owner is None:
            return
        bodies: list[dict[str, Any]] = []
        for record in stream.records:
            if isinstance(record.event, ev.TaskReset | ev.TaskEventsDeleted):
                bodies = []
            else:
                bodies.extend(bodies_of(record.event))
        for values in _latest(owner[1], owner[0], bodies):
            out.add(self.table, COLUMNS, values)


def _latest(company: str, task: str, bodies: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One row per key, the last report of it, numbered by arrival (1, 2, … per call)."""
    found: dict[Key, tuple[Any, ...]] = {}
    for seq, body in enumerate(bodies, start=1):
        values = row(company, task, seq, body)
        found.pop(identity(body), None)  # keep arrival order of the winners
        found[identity(body)] = values
    return list(found.values())
