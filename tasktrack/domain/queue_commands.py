"""Every order tasktrack takes about queues: one frozen Struct per command (ClearML's field
names, so an HTTP body decodes straight into it), each naming its endpoint."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from tasktrack.domain.commands import Command
from tasktrack.domain.events import MetadataItem
from tasktrack.domain.limits import Key

Metadata = list[MetadataItem] | dict[str, MetadataItem]


class CreateQueue(Command, frozen=True, kw_only=True):
    endpoint = "queues.create"
    summary = "Create a queue (names are unique within a company)"

    name: str
    display_name: str | None = None
    tags: list[Key] = []
    system_tags: list[Key] = []
    metadata: Metadata = []


class GetDefaultQueue(Command, frozen=True, kw_only=True):
    """A command, not a query: the company's default queue is made on first use."""

    endpoint = "queues.get_default"
    summary = "The company's default queue (system tag `default`), made on first use"


class UpdateQueue(Command, frozen=True, kw_only=True):
    endpoint = "queues.update"
    summary = "Rename, retag or change the display name or metadata of a queue"

    queue: Key
    name: str | UnsetType = UNSET
    display_name: str | UnsetType | None = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


class DeleteQueue(Command, frozen=True, kw_only=True):
    endpoint = "queues.delete"
    summary = "Delete a queue (with waiting tasks only with force: they go back)"

    queue: Key
    force: bool = False


class OnQueuedTask(Command, frozen=True, kw_only=True):
    """A command about one task and one queue."""

    queue: Key
    task: Key


class AddTaskToQueue(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.add_task"
    summary = "Put a task at the end of a queue"

    update_execution_queue: bool = True


class RemoveTaskFromQueue(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.remove_task"
    summary = "Take a task out of a queue (update_task_status: it goes back, as dequeue)"

    update_task_status: bool = False


class MoveTaskForward(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.move_task_forward"
    summary = "Move a task `count` places towards the front of its queue"

    count: int = 1


class MoveTaskBackward(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.move_task_backward"
    summary = "Move a task `count` places towards the back of its queue"

    count: int = 1


class MoveTaskToFront(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.move_task_to_front"
    summary = "Move a task to the front of its queue"


class MoveTaskToBack(OnQueuedTask, frozen=True, kw_only=True):
    endpoint = "queues.move_task_to_back"
    summary = "Move a task to the back of its queue"


class GetNextTask(Command, frozen=True, kw_only=True):
    endpoint = "queues.get_next_task"
    summary = "Hand the first task of a queue to the caller (it leaves the queue)"

    queue: Key
    get_task_info: bool = False
    task: Key | None = None  # only if this task is first in line


class ClearQueue(Command, frozen=True, kw_only=True):
    endpoint = "queues.clear_queue"
    summary = "Take every task out of a queue (they go back, as dequeue)"

    queue: Key


class AddOrUpdateQueueMetadata(Command, frozen=True, kw_only=True):
    endpoint = "queues.add_or_update_metadata"
    summary = "Add or replace metadata entries of a queue"

    queue: Key
    metadata: Metadata
    replace_metadata: bool = False


class DeleteQueueMetadata(Command, frozen=True, kw_only=True):
    endpoint = "queues.delete_metadata"
    summary = "Delete metadata entries of a queue"

    queue: Key
    keys: list[str]


def declared() -> list[type[Command]]:
    """Every queue command that names an endpoint (the registry tests cross-check them)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]
