"""The queues service's endpoints, declared as the models' are: every queue command by its
`endpoint`, and the queries with their request Structs."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain import queue_commands as qc
from tasktrack.domain.commands import Command
from tasktrack.http.calls import Call, Spec
from tasktrack.queries.queues import QueueFilter
from tasktrack.queries.shaping import shape


class QueueId(msgspec.Struct, frozen=True, kw_only=True):
    queue: str


class GetQueue(QueueId, frozen=True, kw_only=True):
    max_task_entries: int | None = None


class GetQueues(QueueFilter, frozen=True, kw_only=True):
    only_fields: list[str] | None = None


class GetMetrics(msgspec.Struct, frozen=True, kw_only=True):
    from_date: float
    to_date: float
    interval: int
    queue_ids: list[str] | None = None
    refresh: bool = False  # the log is always current: nothing to refresh


def _command(call: Call, command: Command) -> Any:
    return call.client.execute(command, request_id=call.request_id)


def _get_by_id(call: Call, body: GetQueue) -> Any:
    return {"queue": call.client.get_queue(body.queue, body.max_task_entries)}


def _get_all(call: Call, body: GetQueues) -> Any:
    found = call.client.query_queues(body)
    return {"queues": shape(found, body.only_fields) if body.only_fields else found}


def _get_all_ex(call: Call, body: GetQueues) -> Any:
    found = call.client.query_queue_infos(body)
    return {"queues": shape(found, body.only_fields) if body.only_fields else found}


def _peek(call: Call, body: QueueId) -> Any:
    return {"task": call.client.peek_task(body.queue)}


def _num(call: Call, body: QueueId) -> Any:
    return {"num": call.client.get_num_entries(body.queue)}


def _metrics(call: Call, body: GetMetrics) -> Any:
    found = call.client.get_queue_metrics(
        body.from_date, body.to_date, body.interval, body.queue_ids
    )
    return {"queues": found}


def endpoints() -> list[Spec]:
    specs = [
        Spec(name=kind.endpoint, request=kind, run=_command, summary=kind.summary)
        for kind in qc.declared()
        if kind.endpoint is not None
    ]
    specs += [
        Spec(name="queues.get_by_id", request=GetQueue, run=_get_by_id, summary="A queue"),
        Spec(name="queues.get_all", request=GetQueues, run=_get_all, summary="Queues by filters"),
        Spec(
            name="queues.get_all_ex",
            request=GetQueues,
            run=_get_all_ex,
            summary="Queues by filters, entries with task names, and their workers",
        ),
        Spec(
            name="queues.peek_task",
            request=QueueId,
            run=_peek,
            summary="The task first in line (it stays)",
        ),
        Spec(
            name="queues.get_num_entries",
            request=QueueId,
            run=_num,
            summary="How many tasks wait in the queue",
        ),
        Spec(
            name="queues.get_queue_metrics",
            request=GetMetrics,
            run=_metrics,
            summary="Queue length and average wait per interval, from the log",
        ),
    ]
    return specs
