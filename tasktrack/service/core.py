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
from tasktrack.domain.decide import RULES
from tasktrack.domain.errors import DomainError, InvalidRequest
from tasktrack.domain.records import Metadata
from tasktrack.service import (
    files,
    handlers,
    models,
    projects,
    queues,
    report_docs,
    reporting,
    serving,
    task_moves,
    workers,
)
from tasktrack.service.queue_lines import LinesMoved
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import eventlog, idempotency, tenant_lock, transactions

log = logging.getLogger(__name__)

# Deadlocks (two commands locking overlapping streams in different orders, e.g. a delete and a
# delete_many) are detected by PostgreSQL, which aborts one: it is retried from the start.
# A queue's line that changed between an unlocked read and its lock (service/queue_lines.py)
# is read again the same way.
RETRYABLE = (pgerrors.DeadlockDetected, pgerrors.SerializationFailure, LinesMoved)
ATTEMPTS = 5


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: from the credential, never from a request body."""

    company: str
    user: str
    client: str | None = None


# The commands with a handler of their own; every other command is a *_many (handlers.on_many)
# or a command on one existing task with a rule in decide.RULES (handlers.on_task).
SPECIAL: dict[type[cmd.Command], Callable[[UnitOfWork, Any], Result]] = {
    cmd.CreateTask: handlers.on_create,
    cmd.ValidateTask: handlers.on_create,
    cmd.CloneTask: task_moves.on_clone,
    cmd.UpdateTags: handlers.on_update_tags,
    cmd.AddEvents: reporting.on_add_events,
    cmd.CreateProject: projects.on_create_project,
    **models.HANDLERS,
    **workers.HANDLERS,
    **queues.HANDLERS,
    **files.HANDLERS,
    cmd.UpdateProject: projects.on_update_project,
    cmd.MoveProject: projects.on_move_project,
    cmd.MergeProject: projects.on_merge_project,
    cmd.DeleteProject: projects.on_delete_project,
    cmd.MakeProjectsPublic: projects.on_make_public,
    cmd.MakeProjectsPrivate: projects.on_make_private,
    cmd.MoveTasks: task_moves.on_move,
    cmd.MakeTasksPublic: task_moves.on_make_public,
    cmd.MakeTasksPrivate: task_moves.on_make_private,
    **report_docs.HANDLERS,
    **serving.HANDLERS,
}


def handler_for(kind: type[cmd.Command]) -> Callable[[UnitOfWork, Any], Result] | None:
    """The handler that carries out commands of this type (None: nothing would)."""
    special = SPECIAL.get(kind)
    if special is not None:
        return special
    if issubclass(kind, cmd.ManyTasks):
        return handlers.on_many
    if kind in RULES:
        return handlers.on_task
    return None


class TaskService:
    """The only writer of tasktrack: every entry point (HTTP, Python API, CLI) comes here."""

    def __init__(self, engine: Engine, *, notify: bool = True) -> None:
        self.engine = engine
        # Wake catch-up runners after each commit that appended events (off: they only poll).
        self.notify = notify

    def execute(
        self, command: cmd.Command, caller: Caller, *, request_id: str | None = None
    ) -> Result:
        """Carry out `command` for `caller` in one transaction and return its response data.

        With a `request_id`, a retry of the same request returns the first response and
        writes nothing; the same id with a different request is refused (409).
        """
        handler = handler_for(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
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
            except ConnectionLost as exc:
                # The connection died before the COMMIT went out: nothing was committed, and
                # the pool hands out another connection (a server restart kills them all).
                if attempt == ATTEMPTS:
                    raise DatabaseUnavailable(str(exc.__cause__)) from exc
                log.warning("retrying %s on a new connection: %s", type(command).__name__, exc)
                time.sleep(0.1 * attempt)
            except pgerrors.UniqueViolation as exc:
                # The log's (stream, version) key refused an append: a writer that bypassed the
                # stream lock got there first. Nothing was committed; a retry re-reads the head.
                if not eventlog.is_stream_clash(exc):
                    raise
                if attempt == ATTEMPTS:
                    raise StreamClash(exc.diag.message_detail or "") from exc
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
        conn = pooled.driver_connection
        assert isinstance(conn, psycopg.Connection)
        sent_commit = False
        commit: psycopg.Cursor[Any] | None = None
        try:
            # Round trips are most of a command's cost, so: pipeline mode (statements go out
            # without waiting; the connection syncs only when a result is read) and BEGIN and
            # COMMIT sent as plain statements in autocommit mode (psycopg would sync on each).
            # A command then costs two round trips: its reads (locks and rows, in one go: see
            # UnitOfWork.open) and its writes followed by the COMMIT (and the runners' wake-up,
            # a transaction of its own after it: transactions.send_wake_up says why).
            conn.autocommit = True
            sharded = tenant_lock.commands_take_it(conn)  # asked once per connection
            with conn.pipeline():
                transactions.begin(conn)
                if sharded:
                    # The tenant's write lock, shared, before every other lock of the command
                    # and pipelined with its first round trip: a per-tenant rebuild takes it
                    # exclusive to hold this tenant's writers off (store/tenant_lock.py).
                    tenant_lock.send_shared(conn, metadata.company)
                result, wrote = self._unit(handler, command, metadata, request_id, conn)
                sent_commit = True
                commit = transactions.commit(conn)
                if wrote and self.notify:
                    transactions.send_wake_up(conn)
            return result
        except BaseException as exc:
            if (
                isinstance(exc, psycopg.Error)
                and commit is not None
                and transactions.committed(commit)
            ):
                # Only the wake-up after the COMMIT failed: the command is done, and the
                # runners' poll finds its events all the same.
                log.warning("NOTIFY after %s failed: %s", type(command).__name__, exc)
                if _connection_lost(conn, exc):
                    pooled.invalidate()
                return result
            _end_transaction(pooled, conn, exc, sent_commit)
            raise
        finally:
            if pooled.is_valid:
                conn.autocommit = False
            pooled.close()

    def _unit(
        self,
        handler: Callable[[UnitOfWork, Any], Result],
        command: cmd.Command,
        metadata: Metadata,
        request_id: str | None,
        conn: psycopg.Connection[Any],
    ) -> tuple[Result, bool]:
        """The command's result, and whether it appended events (then the runners are woken)."""
        uow = UnitOfWork(conn, metadata)
        if request_id is not None:
            # Retries of one request wait for each other here, then find the result.
            uow.lock([idempotency.lock_name(metadata.company, request_id)])
            stored = uow.stored_response(request_id, command)
            if stored is not None:
                result: Result = stored
                return result, False
        result = handler(uow, command)
        # Every event appended is projected in its own transaction, whatever path the handler
        # took: a handler that appended and then returned early without `uow.project()` (a
        # models.move of no models, into a project it created) committed events that the
        # inline read models never saw. A no-op when the handler projected everything.
        uow.project()
        if request_id is not None:
            uow.remember(request_id, command, result)
        return result, uow.wrote


class StreamClash(DomainError):
    """Another writer kept appending to the same stream at the same versions."""

    code = 409
    subcode = 0

    def __init__(self, detail: str) -> None:
        super().__init__(f"concurrent append to the same stream, retry the request: {detail}")


class ConnectionLost(RuntimeError):
    """The connection broke before the COMMIT was sent: nothing was committed."""


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached, retries included; nothing was written.

    Not a DomainError (those are refusals of the request): HTTP answers 503 with subcode 0.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"Database unavailable, nothing was written; retry later: {detail}")


class OutcomeUnknown(RuntimeError):
    """The connection broke while the COMMIT was on its way: it may or may not have happened.

    Not a DomainError (those wrote nothing): HTTP answers 503 with subcode 1 and this message.
    """


# SQLSTATEs of a session the server ended: admin_shutdown, crash_shutdown, cannot_connect_now.
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})


def _connection_lost(conn: psycopg.Connection[Any], exc: BaseException) -> bool:
    """Did the connection (rather than the statement) fail?

    psycopg marks a connection broken only once it notices; a server process terminated after
    it ran the COMMIT but before the client read the sync raises AdminShutdown (57P01) first,
    and leaving the pipeline then fails with no SQLSTATE at all. Both mean the session is gone.
    Class 40 (deadlock, serialization failure) is an OperationalError too, but a rolled-back
    statement on a live session.
    """
    if conn.broken or conn.closed:
        return True
    for error in (exc, exc.__cause__, exc.__context__):
        if isinstance(error, psycopg.OperationalError):
            state = error.sqlstate
            if state is None or state.startswith("08") or state in _SESSION_ENDED:
                return True
    return False


def _end_transaction(
    pooled: Any, conn: psycopg.Connection[Any], exc: BaseException, sent_commit: bool
) -> None:
    """Roll back what a failed command left open, or drop a connection that broke."""
    # Only a lost connection leaves the outcome in doubt: a server-side error (a deadlock, a
    # unique violation), even one read back at the COMMIT's sync, means nothing was committed.
    if _connection_lost(conn, exc):
        pooled.invalidate()
        if sent_commit:
            raise OutcomeUnknown(
                "The database connection broke while committing: the command may or may not "
                "have been applied; retry it with the same request id to be sure"
            ) from exc
        raise ConnectionLost(str(exc)) from exc
    try:
        transactions.rollback(conn)
    except psycopg.Error:
        pooled.invalidate()
