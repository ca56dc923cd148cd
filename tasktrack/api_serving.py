"""The serving service's Client methods (a mixin of tasktrack.api.Client): a container's
commands go to the service (facts as events, status reports as rows); the reads are the
serving queries over the live containers."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tasktrack.domain import serving_commands as cmd
from tasktrack.queries import serving as serving_queries
from tasktrack.service import Caller
from tasktrack.service.results import Result


def _now() -> datetime:
    return datetime.now(UTC)


class ServingMethods:
    """Mixed into Client, which provides `_do`, `_read` and `caller`."""

    caller: Caller

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def register_container(self, **f: Any) -> Result:
        """serving.register_container {container_id, endpoint_name, model_name, endpoint_url?,
        timeout?, ...}: {}."""
        return self._do(cmd.RegisterContainer, f)

    def report_container_status(self, **f: Any) -> Result:
        """serving.container_status_report {container_id, endpoint_url, uptime_sec?,
        requests_num?, requests_min?, latency_ms?, machine_stats?, ...}: {}."""
        return self._do(cmd.ReportContainerStatus, f)

    def unregister_container(self, **f: Any) -> Result:
        """serving.unregister_container {container_id}: {}."""
        return self._do(cmd.UnregisterContainer, f)

    def serving_endpoints(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return serving_queries.endpoints(conn, self.caller.company, _now())

    def serving_loading(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return serving_queries.loading(conn, self.caller.company, _now())

    def serving_endpoint(self, url: str) -> dict[str, Any]:
        with self._read() as conn:
            return serving_queries.details(conn, self.caller.company, url, _now())

    def serving_metrics(self, url: str, **options: Any) -> dict[str, Any]:
        with self._read() as conn:
            return serving_queries.metrics_history(conn, self.caller.company, url, **options)
