"""The queues service's Client methods (a mixin of tasktrack.api.Client): commands go to the
service like a task's, queries read the `queues` and `queue_entries` read models and the log."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection

from tasktrack.domain import queue_commands as cmd
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.queue_history import LineWait
from tasktrack.queries import queue_history, queue_metrics
from tasktrack.queries import queues as queue_queries
from tasktrack.queries import workers as worker_queries
from tasktrack.service import Caller
from tasktrack.service.results import Result


class QueueMethods:
    """Mixed into Client, which provides `_do`, `_read` and `caller`."""

    caller: Caller

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def create_queue(self, **f: Any) -> Result:
        """queues.create {name, display_name?, tags?, system_tags?, metadata?}: {id}."""
        return self._do(cmd.CreateQueue, f)

    def get_default_queue(self) -> Result:
        """{id, name} of the company's default queue (made on first use)."""
        return self._do(cmd.GetDefaultQueue, {})

    def update_queue(self, **f: Any) -> Result:
        return self._do(cmd.UpdateQueue, f)

    def delete_queue(self, **f: Any) -> Result:
        return self._do(cmd.DeleteQueue, f)

    def clear_queue(self, **f: Any) -> Result:
        return self._do(cmd.ClearQueue, f)

    def add_task_to_queue(self, **f: Any) -> Result:
        return self._do(cmd.AddTaskToQueue, f)

    def remove_task_from_queue(self, **f: Any) -> Result:
        return self._do(cmd.RemoveTaskFromQueue, f)

    def move_task_forward(self, **f: Any) -> Result:
        return self._do(cmd.MoveTaskForward, f)

    def move_task_backward(self, **f: Any) -> Result:
        return self._do(cmd.MoveTaskBackward, f)

    def move_task_to_front(self, **f: Any) -> Result:
        return self._do(cmd.MoveTaskToFront, f)

    def move_task_to_back(self, **f: Any) -> Result:
        return self._do(cmd.MoveTaskToBack, f)

    def get_next_task(self, **f: Any) -> Result:
        """queues.get_next_task {queue, task?, get_task_info?}: {entry: {task, added}} or {}."""
        return self._do(cmd.GetNextTask, f)

    def add_or_update_queue_metadata(self, **f: Any) -> Result:
        return self._do(cmd.AddOrUpdateQueueMetadata, f)

    def delete_queue_metadata(self, **f: Any) -> Result:
        return self._do(cmd.DeleteQueueMetadata, f)

    # --- reading ----------------------------------------------------------------------------

    def get_queue(self, queue: str, max_task_entries: int | None = None) -> queue_queries.QueueView:
        with self._read() as conn:
            return queue_queries.get_by_id(conn, self.caller.company, queue, max_task_entries)

    def _queue_filter(self, filters: dict[str, Any]) -> queue_queries.QueueFilter:
        try:
            return msgspec.convert(filters, queue_queries.QueueFilter)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(f"Validation error: {exc}") from exc

    def get_queues(self, **filters: Any) -> list[queue_queries.QueueView]:
        """Filters: id, name (a regular expression), tags, system_tags, search_hidden,
        max_task_entries, page, page_size."""
        return self.query_queues(self._queue_filter(filters))

    def _with_default(self) -> None:
        """A company's default queue exists from its first look at its queues on (ClearML's
        server makes it at start-up; an agent or the SDK looks for "default" by name)."""
        with self._read() as conn:
            if queue_queries.has_default(conn, self.caller.company):
                return
        self.get_default_queue()

    def query_queues(self, query: queue_queries.QueueFilter) -> list[queue_queries.QueueView]:
        self._with_default()
        with self._read() as conn:
            return queue_queries.get_all(conn, self.caller.company, query)

    def query_queue_infos(self, query: queue_queries.QueueFilter) -> list[queue_queries.QueueInfo]:
        """get_all_ex: entries with their tasks' names (and the workers serving each queue)."""
        self._with_default()
        with self._read() as conn:
            infos = queue_queries.get_all_ex(conn, self.caller.company, query)
            serving = worker_queries.listening(
                conn, self.caller.company, [q.id for q in infos], datetime.now(UTC)
            )
        return [
            msgspec.structs.replace(q, workers=msgspec.to_builtins(serving.get(q.id, [])))
            for q in infos
        ]

    def peek_task(self, queue: str) -> str | None:
        with self._read() as conn:
            return queue_queries.peek_task(conn, self.caller.company, queue)

    def get_num_entries(self, queue: str) -> int:
        with self._read() as conn:
            return queue_queries.num_entries(conn, self.caller.company, queue)

    def get_queue_metrics(
        self,
        from_date: float,
        to_date: float,
        interval: int,
        queue_ids: list[str] | None = None,
    ) -> list[queue_metrics.QueueMetrics]:
        """Length and average wait per `interval` seconds, per queue (all queues: "total")."""
        with self._read() as conn:
            return queue_metrics.get_queue_metrics(
                conn,
                self.caller.company,
                queue_ids=queue_ids,
                from_date=from_date,
                to_date=to_date,
                interval=interval,
            )

    def queue_history(
        self, queue: str, limit: int = queue_history.DEFAULT_STEPS
    ) -> queue_history.QueueHistory:
        """QUEUE (id or name) now, and the last `limit` lines of its stream: who put which task
        in line, moved or removed it, and when it was handed to which worker."""
        with self._read() as conn:
            return queue_history.history(conn, self.caller.company, queue, limit)

    def queue_line_waits(
        self,
        queue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 1000,
    ) -> list[LineWait]:
        """Each stay of a task in a queue's line (QUEUE, or every queue), from the queues'
        streams: entered, left, how (handed out to which worker, removed), the wait."""
        with self._read() as conn:
            return queue_history.line_waits(
                conn, self.caller.company, queue=queue, since=since, until=until, limit=limit
            )
