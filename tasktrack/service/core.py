"""TaskService: runs a command in its unit of work, with idempotency and retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from psycopg import errors as pgerrors
from sqlalchemy import Engine

from tasktrack.domain import commands as cmd
from tasktrack.domain.decide import handles
from tasktrack.domain.envelope import Metadata
from tasktrack.domain.errors import InvalidRequest
from tasktrack.service import handlers, projects, reporting
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork, idempotency_lock

log = logging.getLogger(__name__)

# Deadlocks (two commands locking overlapping streams in different orders, e.g. a delete and a
# delete_many) are detected by PostgreSQL, which aborts one: it is retried from the start.
RETRYABLE = (pgerrors.DeadlockDetected, pgerrors.SerializationFailure)
ATTEMPTS = 5


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: from the credential, never from a request body."""

    company: str
    user: str
    client: str | None = None


_SPECIAL: dict[type[cmd.Command], Callable[[UnitOfWork, Any], Result]] = {
    cmd.CreateTask: handlers.on_create,
    cmd.ValidateTask: handlers.on_create,
    cmd.CloneTask: handlers.on_clone,
    cmd.UpdateTags: handlers.on_update_tags,
    cmd.ReportWorkerStatus: handlers.on_worker_report,
    cmd.AddEvents: reporting.on_add_events,
    cmd.CreateProject: projects.on_create_project,
}


def _handler(command: cmd.Command) -> Callable[[UnitOfWork, Any], Result]:
    special = _SPECIAL.get(type(command))
    if special is not None:
        return special
    if isinstance(command, cmd.ManyTasks):
        return handlers.on_many
    if handles(command):
        return handlers.on_task
    raise TypeError(f"no handler for {type(command).__name__}")


class TaskService:
    """The only writer of tasktrack: every entry point (HTTP, Python API, CLI) comes here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def execute(
        self, command: cmd.Command, caller: Caller, *, request_id: str | None = None
    ) -> Result:
        """Carry out `command` for `caller` in one transaction and return its response data.

        With a `request_id`, a retry of the same request returns the first response and
        writes nothing; the same id with a different request is refused (409).
        """
        handler = _handler(command)
        metadata = Metadata(
            user=caller.user, company=caller.company, request_id=request_id, client=caller.client
        )
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._run(handler, command, metadata, request_id)
            except pgerrors.DataError as exc:
                # A value PostgreSQL cannot store (a NUL in text, a number out of range): the
                # transaction rolled back, so this is a refused request, not a server error.
                raise InvalidRequest(f"Validation error: {exc.diag.message_primary}") from exc
            except RETRYABLE:
                if attempt == ATTEMPTS:
                    raise
                log.info(
                    "retrying %s after a deadlock (attempt %d)", type(command).__name__, attempt
                )
                time.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    def _run(
        self,
        handler: Callable[[UnitOfWork, Any], Result],
        command: cmd.Command,
        metadata: Metadata,
        request_id: str | None,
    ) -> Result:
        pooled = self.engine.raw_connection()
        try:
            conn = pooled.driver_connection
            assert isinstance(conn, psycopg.Connection)
            with conn.transaction():
                uow = UnitOfWork(conn, metadata)
                if request_id is not None:
                    # Retries of one request wait for each other here, then find the result.
                    uow.lock([idempotency_lock(metadata.company, request_id)])
                    stored = uow.stored_response(request_id, command)
                    if stored is not None:
                        result: Result = stored
                        return result
                result = handler(uow, command)
                if request_id is not None:
                    uow.remember(request_id, command, result)
                return result
        finally:
            pooled.close()
