"""The refusals of the queues service, with ClearML's result codes (apierrors 701-708)."""

from __future__ import annotations

from tasktrack.domain.errors import DomainError, QueueNotFound, TaskAlreadyQueued

__all__ = [
    "MultipleDefaultQueues",
    "NoDefaultQueue",
    "QueueNotEmpty",
    "QueueNotFound",
    "TaskAlreadyQueued",
    "TaskNotInQueue",
]


class QueueNotEmpty(DomainError):
    """A queue with waiting tasks is deleted only with force."""

    subcode = 702


class TaskNotInQueue(DomainError):
    """Unknown queue, or the task does not wait in it (invalid_queue_or_task_not_queued)."""

    subcode = 703


class NoDefaultQueue(DomainError):
    subcode = 707


class MultipleDefaultQueues(DomainError):
    subcode = 708
