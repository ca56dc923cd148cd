"""Fold streams from the log and compare them with the `tasks` rows (used after every test)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tasktrack.domain import models, queues
from tasktrack.domain.events import TASK_EVENTS, ModelCreated, QueueCreated
from tasktrack.domain.evolve import fold
from tasktrack.projections.tasks import TasksProjector
from tasktrack.store import chaincheck, eventlog, modelrows, queuerows
from tasktrack.store.engine import raw


def log_end(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql("SELECT coalesce(max(position), 0) FROM events").scalar_one()
        )


def mismatches(engine: Engine, after_position: int) -> list[str]:
    """Every stream written after `after_position` whose replay differs from its row."""
    problems: list[str] = []
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        tenants = conn.execute(
            "SELECT DISTINCT company, stream_id FROM events WHERE position > %s "
            "UNION SELECT company, data->>'queue' FROM events "
            "WHERE position > %s AND type = 'TaskHandedOut'",
            (after_position, after_position),
        ).fetchall()
        streams = sorted({stream for _, stream in tenants})
        rows = {}
        for company in {c for c, _ in tenants}:
            mine = [s for c, s in tenants if c == company]
            rows.update(TasksProjector().load(conn, company, mine))
        for stream in streams:
            records = eventlog.read_stream(conn, stream)
            if records and isinstance(records[0].event, ModelCreated):
                problems += _model_mismatches(conn, stream, records)
                continue
            if records and isinstance(records[0].event, QueueCreated):
                problems += _queue_mismatches(conn, stream, records)
                continue
            if not records or not isinstance(records[0].event, TASK_EVENTS):
                continue
            broken = chaincheck.check_stream(conn, stream)
            if broken is not None:
                problems.append(f"{stream}: hash chain broken at {broken.stream_version}")
            state = fold([r.event for r in records])
            row = rows.get(stream)
            if state is None or state.deleted:
                if row is not None:
                    problems.append(f"{stream}: deleted in the log but still has a row")
                continue
            if row is None:
                problems.append(f"{stream}: no row for a live stream")
                continue
            if row.state != state:
                diff = [
                    f"{f}: row={getattr(row.state, f)!r} replay={getattr(state, f)!r}"
                    for f in state.__struct_fields__
                    if getattr(row.state, f) != getattr(state, f)
                ]
                problems.append(f"{stream}: " + "; ".join(diff))
            last = records[-1]
            if (row.head.version, row.head.hash, row.head_at) != (
                last.stream_version,
                last.hash,
                last.recorded_at,
            ):
                problems.append(f"{stream}: stream head in the row is not the last event")
        sa_conn.rollback()
    return problems


def _model_mismatches(conn: Any, stream: str, records: list[Any]) -> list[str]:
    """A model stream folded from the log against its `models` row (and its hash chain)."""
    problems = []
    if chaincheck.check_stream(conn, stream) is not None:
        problems.append(f"{stream}: hash chain broken")
    state = models.fold([r.event for r in records])
    assert state is not None
    row = modelrows.load(conn, state.company, [state.id]).get(state.id)
    if state.deleted:
        return problems + ([f"{stream}: deleted model still has a row"] if row else [])
    if row is None:
        return [*problems, f"{stream}: no row for a live model"]
    if row.state != state:
        problems.append(f"{stream}: row {row.state!r} != replay {state!r}")
    last = records[-1]
    if (row.head.version, row.head.hash, row.head_at) != (
        last.stream_version,
        last.hash,
        last.recorded_at,
    ):
        problems.append(f"{stream}: stream head in the row is not the last event")
    return problems


def _queue_mismatches(conn: Any, stream: str, records: list[Any]) -> list[str]:
    """A queue stream folded from the log against its `queues` row and its waiting line."""
    problems = []
    if chaincheck.check_stream(conn, stream) is not None:
        problems.append(f"{stream}: hash chain broken")
    state: queues.QueueState | None = None
    changes = []
    for record in records:
        state = queues.evolve(state, record.event)
        changes.append((record.stream_version, record.event))
    assert state is not None
    # Handouts are on the tasks' streams: each goes right after the queue version it names.
    handouts = [
        (r.event.queue_version, r.stream_id, r.event.entered)
        for r in eventlog.read_handouts(conn, state.company, state.id)
    ]
    line = queues.line_with_handouts(changes, handouts)
    row = queuerows.load(conn, state.company, [state.id]).get(state.id)
    entries = queuerows.entries(conn, state.company, state.id)
    if state.deleted:
        return problems + ([f"{stream}: deleted queue still has rows"] if row or entries else [])
    if row is None:
        return [*problems, f"{stream}: no row for a live queue"]
    if row.state != state:
        problems.append(f"{stream}: row {row.state!r} != replay {state!r}")
    if entries != sorted(line, key=lambda e: e.rank):
        problems.append(f"{stream}: line {entries!r} != replay {line!r}")
    last = records[-1]
    if (row.head.version, row.head.hash, row.head_at) != (
        last.stream_version,
        last.hash,
        last.recorded_at,
    ):
        problems.append(f"{stream}: stream head in the row is not the last event")
    return problems
