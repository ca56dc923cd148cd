"""`task_reported_events`: a task's plots, debug images and vectors, the later report of a
(type, metric, variant, iteration, key) replacing the earlier ("last image wins", as ClearML).

Only the current run is kept: a reset, a deletion or events.delete_for_task removes the task's
rows (the log keeps every report). `seq` numbers the task's reports since then in arrival
order (an overwritten row takes its new number), so the inline path and a replay give equal
rows.
The payload is kept as JSON text (exact, comparable; jsonb would refuse a NUL escape).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.models import model_of
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections import pinning
from tasktrack.projections.base import ReadPayloads, Rows, Stream, StreamReplay
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


@functools.cache  # one per table name: projectors are made per command
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


@functools.cache
def _pinned(table: str) -> str:
    return pinning.pin(_insert_sql(table), ("x.company = t.company",))


class ReportedEventsProjector(StreamReplay):
    name = "task_reported_events"
    kinds = frozenset({"task", "model"})

    def __init__(self, table: str = "task_reported_events") -> None:
        self.table = table
        # The live table (not a rebuild's or verify's twin): on Citus, run on its worker.
        self._live = table == "task_reported_events"
        self._insert = _insert_sql(table)
        self._pending: list[tuple[tuple[str, str], list[Recorded]]] = []
        self._waiting = 0
        self._losers = 0
        self._read: ReadPayloads | None = None
        self._insert_pinned = _pinned(table)

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
            where, params = pinning.keys_where("task_id", dropped)
            conn.execute(f"DELETE FROM {self.table} WHERE {where}", params)
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
            pinning.execute(conn, self._insert, self._insert_pinned, columns, live=self._live)

    # The replay (projections/replay.py) holds no figure longer than it takes to COPY it:
    # streams come with their payload events as stubs; the live ones (after the stream's last
    # reset, of a live task or model) wait here, as stubs, until PENDING_EVENTS of them are
    # gathered, then their payloads are read by position a bounded group at a time
    # (eventlog.read_payloads) and each report becomes its row at once, in arrival order. A
    # later report of the same key makes the earlier row a loser: its key and `seq`, unique
    # since the reset, go to a staging table, and `replay_finish` deletes the losers before the
    # table's key is built. Memory: PENDING_EVENTS stubs, a task's keys, one group of payloads.
    PENDING_EVENTS = 256

    def replay_begin(self, conn: psycopg.Connection[Any]) -> None:
        self._pending, self._waiting, self._losers, self._read = [], 0, 0, None
        conn.execute(f"DROP TABLE IF EXISTS {self._staging}")
        conn.execute(f"CREATE TEMP TABLE {self._staging} AS SELECT {', '.join(LOSER)} "
                     f"FROM {self.table} WITH NO DATA")  # fmt: skip

    def replay_payloads(self, read: ReadPayloads) -> None:
        self._read = read

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live task's (or model's) reports since its last reset, the later of a key
        winning."""
        owner = replayed_owner(stream)
        if owner is None:
            return
        live: list[Recorded] = []
        for record in stream.records:
            if isinstance(record.event, ev.TaskReset | ev.TaskEventsDeleted):
                live = []
            elif isinstance(record.event, REPORTS):
                live.append(record)
        if live:
            self._pending.append((owner, live))
            self._waiting += len(live)
            if self._waiting >= self.PENDING_EVENTS:
                self._flush(out)

    def replay_done(self, out: Rows) -> None:
        self._flush(out)

    def replay_finish(self, conn: psycopg.Connection[Any]) -> None:
        if self._losers:
            on = " AND ".join(f"t.{c} = l.{c}" for c in LOSER)
            conn.execute(f"DELETE FROM {self.table} t USING {self._staging} l WHERE {on}")
        conn.execute(f"DROP TABLE {self._staging}")

    @property
    def _staging(self) -> str:
        return f"{self.table.replace('.', '_')}__losers"

    def _flush(self, out: Rows) -> None:
        pending, self._pending, self._waiting = self._pending, [], 0
        stored = [r.position for _, live in pending for r in live if _stubbed(r)]
        read = self._read
        if stored and read is None:
            raise RuntimeError("replay_payloads was not given a reader of the payloads")
        full = iter(read(stored) if read is not None and stored else ())
        for (task, company), live in pending:
            seqs: dict[Key, int] = {}
            seq = 0
            for stub in live:
                record = next(full, None) if _stubbed(stub) else stub
                if record is None or record.position != stub.position:
                    raise RuntimeError(f"payload read out of order at {stub.position}")
                for body in bodies_of(record.event):
                    seq += 1
                    key = identity(body)
                    lost = seqs.get(key)
                    if lost is not None:
                        out.add(self._staging, LOSER, (company, task, *key, lost))
                        self._losers += 1
                    seqs[key] = seq
                    out.add(self.table, COLUMNS, row(company, task, seq, body))


# The events that carry reports, and those of them a replay's scan reads as stubs.
REPORTS = (ev.TaskEventsStored, ev.TaskEventsReported, ev.ModelEventsStored)
STUBBED = (ev.TaskEventsStored, ev.ModelEventsStored)
LOSER = ("company", "task_id", "type", "metric", "variant", "iter", "key", "seq")


def _stubbed(record: Recorded) -> bool:
    return isinstance(record.event, STUBBED)


def _latest(company: str, task: str, bodies: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One row per key, the last report of it, numbered by arrival (1, 2, … per call)."""
    found: dict[Key, tuple[Any, ...]] = {}
    for seq, body in enumerate(bodies, start=1):
        values = row(company, task, seq, body)
        found.pop(identity(body), None)  # keep arrival order of the winners
        found[identity(body)] = values
    return list(found.values())
