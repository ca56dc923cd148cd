"""W8's bound: tasktrack's own tables drained by hand in the fewest statements (a diagnostic).

Not an implementation of tasktrack: no domain rules, no idempotency, no tenant lock, no
wake-up. It writes what tasktrack's W8 writes (the same events, encoded and hash-chained the
same way, the same task row columns, status history rows and line entries, so the same
indexes are maintained) with two round trips a command: BEGIN and a read that locks, then one
statement for every write (a data-modifying CTE) and the COMMIT. What it reaches against the
raw queue bounds what any rewrite of tasktrack's write path could reach on this schema
(docs/benchmarks.md, W8, "The bound"). Setup and checks are W8's own, and the audit verifies
every stream's hash chain.
Two variants ask whether the bound itself could move (not part of W8's run; docs/benchmarks.md,
W8, "Does the bound move?"): `bound-lean-schema` drains with only the keys DESIGN.md requires
(every other index of the four tables dropped after the setup), `bound-one-execute` sends each
round trip as one multi-statement simple query (parameters bound on the client) instead of
pipelined prepared statements.
Run as a child: `python -m bench.w8_bound bound|bound-lean-schema|bound-one-execute URL PARAMS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from bench import w8
from bench.harness import RunResult, child_main, peak_rss_mb
from tasktrack.domain import chain, codec
from tasktrack.domain import events as ev
from tasktrack.domain.records import Metadata
from tasktrack.domain.values import Status
from tasktrack.queries import audit

_INSERT_EVENT = (
    "INSERT INTO events (stream_id, stream_version, chain, company, type, schema_version, "
    "data, metadata, recorded_at, hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s::json, %s::json, %s, %s) RETURNING position, company"
)

# The first entry of the line nobody else holds, with the task's head: the row lock of the
# entry is what hands it to one agent only (tasktrack uses advisory locks instead).
_TAKE = (
    "SELECT e.task_id, e.added, t.stream_version, t.head_hash FROM queue_entries e "
    "JOIN tasks t ON t.company = e.company AND t.id = e.task_id "
    "WHERE e.company = %s AND e.queue_id = %s ORDER BY e.rank "
    "FOR UPDATE OF e SKIP LOCKED LIMIT 1"
)

_HAND_OUT = (
    "WITH d AS (DELETE FROM queue_entries WHERE company = %s AND queue_id = %s AND task_id = %s),"
    " u AS (UPDATE tasks SET stream_version = %s, head_hash = %s, head_at = %s "
    "WHERE company = %s AND id = %s) " + _INSERT_EVENT
)

_LOCK_TASK = (
    "SELECT status, stream_version, head_hash FROM tasks WHERE company = %s AND id = %s "
    "FOR NO KEY UPDATE"
)

_CHANGE_STATUS = (
    "WITH ev AS (" + _INSERT_EVENT + "), "
    "u AS (UPDATE tasks SET status = %s, {column} = %s, status_changed = %s, last_update = %s, "
    "last_change = %s, last_changed_by = %s, stream_version = %s, head_hash = %s, head_at = %s "
    "WHERE company = %s AND id = %s) "
    "INSERT INTO task_status_history (task_id, stream_version, company, position, from_status, "
    "to_status, reason, message, user_id, at, force) "
    "SELECT %s, %s, ev.company, ev.position, %s, %s, '', '', %s, %s, false FROM ev"
)


class _Agent:
    """One agent's connection and the event encoding tasktrack's append uses."""

    def __init__(self, conn: psycopg.Connection[Any], user: str) -> None:
        self.conn = conn
        self.user = user
        self.metadata = Metadata(user=user, company=w8.COMPANY)
        self.meta_bytes = msgspec.json.encode(self.metadata)

    def event_params(
        self, task: str, version: int, previous: bytes, event: ev.AnyEvent, at: datetime
    ) -> tuple[list[Any], bytes]:
        data = codec.encode(event)
        type_name = codec.type_of(event)
        digest = chain.link(
            previous,
            chain.event_bytes(
                stream_id=task,
                stream_version=version,
                type_name=type_name,
                schema_version=type(event).schema_version,
                data=data,
                metadata=self.meta_bytes,
                recorded_at=at,
                company=w8.COMPANY,
                rule=chain.CURRENT,
            ),
        )
        params = [task, version, chain.CURRENT, w8.COMPANY, type_name]
        params += [type(event).schema_version, data.decode(), self.meta_bytes.decode(), at]
        return [*params, digest], digest

    def batch(self) -> AbstractContextManager[Any]:
        """How a command's statements go out: pipelined, each round trip syncing once."""
        return self.conn.pipeline()

    def read(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """BEGIN and one read (its first row): the command's first round trip."""
        self.conn.execute("BEGIN")
        row: tuple[Any, ...] | None = self.conn.execute(query, params).fetchone()
        return row

    def write(self, query: str, params: tuple[Any, ...]) -> None:
        """One statement of writes and the COMMIT: the second round trip."""
        self.conn.execute(query, params)
        self.conn.execute("COMMIT")

    def hand_out(self, queue: str) -> str | None:
        conn = self.conn
        with self.batch():
            row = self.read(_TAKE, (w8.COMPANY, queue))
            if row is None:
                conn.execute("ROLLBACK")
                return None
            task, entered, version, head = row[0], row[1], row[2] + 1, bytes(row[3])
            at = datetime.now(UTC)
            # tasktrack writes the queue stream's version here; the bound does not read the
            # queue's row (one number in the payload either way).
            event = ev.TaskHandedOut(
                at=at, by=self.user, queue=queue, queue_version=1, entered=entered
            )
            params, digest = self.event_params(task, version, head, event, at)
            self.write(
                _HAND_OUT,
                (w8.COMPANY, queue, task, version, digest, at, w8.COMPANY, task, *params),
            )
        return str(task)

    def change_status(self, task: str, to: Status, column: str, kind: type[Any]) -> None:
        with self.batch():
            row = self.read(_LOCK_TASK, (w8.COMPANY, task))
            assert row is not None, f"task {task} has no row"
            status, version, head = row
            version += 1
            at = datetime.now(UTC)
            change = ev.StatusChange(from_status=status, to_status=to)
            params, digest = self.event_params(
                task, version, bytes(head), kind(at=at, by=self.user, change=change), at
            )
            task_row = [to, at, at, at, at, self.user, version, digest, at, w8.COMPANY, task]
            history = [task, version, status, to, self.user, at]
            self.write(_CHANGE_STATUS.format(column=column), (*params, *task_row, *history))


class _OneExecuteAgent(_Agent):
    """The same statements, each round trip sent as one simple query of several statements
    (parameters bound on the client, so no prepared statements): fewer client calls, more
    parsing and planning on the server."""

    def __init__(self, conn: psycopg.Connection[Any], user: str) -> None:
        super().__init__(conn, user)
        self.cursor = psycopg.ClientCursor(conn)

    def _last_row(self, queries: str) -> tuple[Any, ...] | None:
        cursor = self.cursor
        cursor.execute(queries)
        row = None
        while True:
            if cursor.description is not None:
                row = cursor.fetchone()
            if not cursor.nextset():
                return row

    def batch(self) -> AbstractContextManager[Any]:
        return nullcontext()  # each round trip is already one call

    def read(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return self._last_row("BEGIN; " + self.cursor.mogrify(query, params))

    def write(self, query: str, params: tuple[Any, ...]) -> None:
        self._last_row(self.cursor.mogrify(query, params) + "; COMMIT")


def _bound_agent(url: str, p: dict[str, Any], agent: int, out: Any, go: Any) -> None:
    taken: list[str] = []
    ms: dict[str, list[float]] = {"handout": [], "started": [], "completed": []}
    kind = _OneExecuteAgent if p.get("one_execute") else _Agent
    with psycopg.connect(w8._libpq(url), autocommit=True) as conn:
        me = kind(conn, f"agent{agent}")
        out.put(("ready", agent))
        go.wait()
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            task = me.hand_out(p["queue_id"])
            if task is None:
                break
            t1 = time.perf_counter()
            me.change_status(task, "in_progress", "started", ev.TaskStarted)
            t2 = time.perf_counter()
            me.change_status(task, "completed", "completed", ev.TaskCompleted)
            t3 = time.perf_counter()
            for name, took in zip(ms, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                ms[name].append(took * 1000)
            taken.append(task)
        out.put(("done", time.perf_counter() - start, taken, peak_rss_mb(), ms))


# What DESIGN.md requires of these tables: the keys, the log's per-tenant (tx, position) order
# for commit-safe reading, and the line's order. The lean-schema variant drops the rest.
_REQUIRED = {
    "events_pkey",
    "events_company_stream_id_stream_version_key",
    "events_company_tx_position_idx",
    "tasks_pkey",
    "task_status_history_pkey",
    "queue_entries_pkey",
    "queue_entries_company_queue_id_rank_idx",
}
_TABLES = ("events", "tasks", "task_status_history", "queue_entries")


def _lean_schema(url: str) -> None:
    with psycopg.connect(w8._libpq(url), autocommit=True) as conn:
        names = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)",
            (list(_TABLES),),
        ).fetchall()
        for (name,) in names:
            if name not in _REQUIRED:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute("VACUUM ANALYZE")


def run_bound(
    url: str, p: dict[str, Any], prepare: Callable[[str], None] | None = None
) -> RunResult:
    queue, tasks = w8._setup_tasktrack(url, p)
    if prepare is not None:
        prepare(url)
    seconds, results = w8._drain(url, {**p, "queue_id": queue}, _bound_agent)
    check = w8._exactly_once(tasks, results)
    if check == "ok":
        check = w8._check_tasktrack(url, queue, tasks)
    if check == "ok":
        # The events are tasktrack's own, chained as it chains them: the audit finds no break.
        with psycopg.connect(w8._libpq(url)) as conn:
            breaks = audit.verify_chains(conn, company=w8.COMPANY)
        if breaks:
            check = f"{len(breaks)} streams' hash chains break, e.g. {breaks[0]}"
    return RunResult(
        seconds=seconds,
        units=len(tasks),
        peak_rss_mb=max(r[3] for r in results),
        check=check,
        extra={"calls": w8._latencies(results)},
    )


if __name__ == "__main__":
    child_main(
        {
            "bound": run_bound,
            "bound-lean-schema": lambda url, p: run_bound(url, p, _lean_schema),
            "bound-one-execute": lambda url, p: run_bound(url, {**p, "one_execute": True}),
        }
    )
