"""queues.get_queue_metrics: queue length and average wait over time, from the queues' stories
(each queue's stream and the handouts from it on its tasks' streams)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, not_, select

from tasktrack.domain import queue_metrics
from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.domain.queues import HIDDEN_TAGS
from tasktrack.queries import queue_history
from tasktrack.store.tables import queues

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last moment a datetime holds


class QueueMetrics(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    dates: list[int] = []
    avg_waiting_times: list[float] = []
    queue_lengths: list[int] = []


def get_queue_metrics(
    conn: Connection,
    company: str,
    *,
    queue_ids: list[str] | None,
    from_date: float,
    to_date: float,
    interval: int,
) -> list[QueueMetrics]:
    for name, value in (("from_date", from_date), ("to_date", to_date)):
        if not 0 <= value <= LAST_SECOND:  # NaN fails too
            raise InvalidRequest(
                f"Validation error: {name} must be seconds since the epoch, at most {LAST_SECOND}",
                field=name,
            )
    if from_date >= to_date:
        raise BadFilter("from_date must be less than to_date")
    if interval < 1:
        raise BadFilter("interval must be at least 1 second")
    stmt = select(queues.c.id).where(queues.c.company == company)
    if queue_ids:
        stmt = stmt.where(queues.c.id.in_(queue_ids))
    else:
        stmt = stmt.where(not_(queues.c.system_tags.overlap(list(HIDDEN_TAGS))))
    found = [r[0] for r in conn.execute(stmt.order_by(queues.c.created, queues.c.id))]
    until = datetime.fromtimestamp(to_date, UTC)
    series = {}
    for queue_id in found:
        events = queue_history.story(conn, company, queue_id, until)
        series[queue_id] = queue_metrics.buckets(
            queue_metrics.samples(events), from_date, to_date, interval
        )
    if queue_ids:
        return [_view(q, s) for q, s in series.items()]
    if not series:
        return []
    return [_view("total", queue_metrics.total(list(series.values())))]


def _view(queue: str, s: queue_metrics.Series) -> QueueMetrics:
    fields: dict[str, Any] = msgspec.structs.asdict(s)
    return QueueMetrics(queue=queue, **fields)
