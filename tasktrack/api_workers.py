"""The workers service's Client methods (a mixin of tasktrack.api.Client): registrations go to
the service like any command; listing first records the workers that went silent."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tasktrack.domain import worker_commands as cmd
from tasktrack.queries import worker_stats as stats_queries
from tasktrack.queries import workers as worker_queries
from tasktrack.service import Caller
from tasktrack.service.results import Result


class WorkerMethods:
    """Mixed into Client, which provides `_do`, `_read` and `caller`."""

    caller: Caller

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def register_worker(self, **f: Any) -> Result:
        """workers.register {worker, timeout, queues (ids), tags, system_tags}."""
        return self._do(cmd.RegisterWorker, f)

    def unregister_worker(self, **f: Any) -> Result:
        return self._do(cmd.UnregisterWorker, f)

    def note_silent_workers(self) -> Result:
        """Record (once each) the workers whose timeout passed: {silent: how many now}."""
        return self._do(cmd.NoteSilentWorkers, {})

    def get_workers(
        self, query: worker_queries.WorkerFilter | None = None
    ) -> list[worker_queries.WorkerView]:
        """workers.get_all: the registered workers seen within `last_seen` seconds."""
        self.note_silent_workers()
        with self._read() as conn:
            return worker_queries.get_all(
                conn, self.caller.company, query or worker_queries.WorkerFilter(), _now()
            )

    def count_workers(self, query: worker_queries.WorkerFilter | None = None) -> int:
        self.note_silent_workers()
        with self._read() as conn:
            return worker_queries.count(
                conn,
                self.caller.company,
                query or worker_queries.WorkerFilter(last_seen=0),
                _now(),
            )

    def queue_workers(
        self, queue_ids: Sequence[str]
    ) -> dict[str, list[worker_queries.QueueWorker]]:
        """The registered workers listening to each of these queues (queues.get_all_ex)."""
        self.note_silent_workers()
        with self._read() as conn:
            return worker_queries.listening(conn, self.caller.company, queue_ids, _now())

    def worker_metric_keys(
        self, worker_ids: Sequence[str] | None = None
    ) -> list[stats_queries.MetricCategory]:
        with self._read() as conn:
            return stats_queries.metric_keys(conn, self.caller.company, worker_ids)

    def worker_stats(
        self,
        items: Sequence[stats_queries.StatItem],
        from_date: float,
        to_date: float,
        interval: int,
        *,
        split_by_resource: bool = False,
        worker_ids: Sequence[str] | None = None,
    ) -> list[stats_queries.WorkerStats]:
        with self._read() as conn:
            return stats_queries.stats(
                conn,
                self.caller.company,
                items,
                from_date,
                to_date,
                interval=interval,
                split_by_resource=split_by_resource,
                worker_ids=worker_ids,
            )

    def worker_activity(
        self, from_date: float, to_date: float, interval: int
    ) -> stats_queries.ActivityReport:
        with self._read() as conn:
            return stats_queries.activity(conn, self.caller.company, from_date, to_date, interval)


def _now() -> datetime:
    return datetime.now(UTC)
