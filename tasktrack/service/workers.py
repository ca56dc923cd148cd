"""The workers service's handlers: a worker's facts go to its stream, its heartbeat to its row.

Each handler locks the worker's stream (and the reported task's) before reading the row, so
two calls about one worker never interleave, then appends what `domain/workers.py` says is a
fact (registered, took or left a task, unregistered, went silent) and writes the row. A
heartbeat that changes nothing but the row appends nothing (docs/architecture.md, "Workers").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import worker_commands as wc
from tasktrack.domain import workers as rules
from tasktrack.domain.errors import QueueNotFound
from tasktrack.domain.worker_errors import WorkerRegistrationFailed
from tasktrack.domain.workers import WorkerRow, stream_of
from tasktrack.service.handlers import apply_to_task
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import workerrows


def _open(uow: UnitOfWork, worker: str, *others: str) -> WorkerRow | None:
    """Lock the worker's stream (and `others`, in the same sorted call), then read its row."""
    company = uow.metadata.company
    uow.lock([stream_of(company, worker), *others])
    return workerrows.load(uow.conn, company, [worker]).get(worker)


def _head(uow: UnitOfWork, worker: str) -> datetime:
    """Read the head of the worker's stream, to append to it (one read, only when there are
    facts: a plain heartbeat skips it), and the time its facts take: never before its last.
    The stream may be older than the row (a row is purged a while after its worker left)."""
    stream = stream_of(uow.metadata.company, worker)
    uow.load_heads([stream])
    return uow.now([stream])


def _append(uow: UnitOfWork, worker: str, events: list[ev.AnyEvent], now: datetime) -> None:
    uow.append(stream_of(uow.metadata.company, worker), events, now)


def _check_queues(uow: UnitOfWork, queues: list[str]) -> None:
    if not queues:
        return
    missing = sorted(set(queues) - workerrows.known_queues(uow.conn, uow.metadata.company, queues))
    if missing:
        raise QueueNotFound(f"Invalid queue id: ids={missing}", ids=missing)


def _register(
    uow: UnitOfWork,
    row: WorkerRow | None,
    now: datetime,
    *,
    worker: str,
    timeout: int,
    queues: list[str],
    tags: list[str] | None,
    system_tags: list[str] | None,
    ip: str | None,
) -> tuple[WorkerRow, list[ev.AnyEvent]]:
    """A registration, after recording the silence of a worker whose timeout passed."""
    events = rules.silence(row, now) if row is not None else []
    m = uow.metadata
    new, registered = rules.register(
        row,
        company=m.company,
        worker=worker,
        user=m.user,
        timeout=timeout,
        queues=queues,
        tags=tags,
        system_tags=system_tags,
        ip=ip,
        now=now,
    )
    return new, events + registered


def on_register(uow: UnitOfWork, c: wc.RegisterWorker) -> Result:
    timeout = c.timeout or rules.DEFAULT_TIMEOUT
    if timeout <= 0:
        raise WorkerRegistrationFailed(
            f"invalid timeout: timeout={timeout}, worker={c.worker}", timeout=timeout
        )
    row = _open(uow, c.worker)
    now = _head(uow, c.worker)
    queues = list(dict.fromkeys(c.queues or []))
    _check_queues(uow, queues)
    new, events = _register(
        uow,
        row,
        now,
        worker=c.worker,
        timeout=timeout,
        queues=queues,
        tags=c.tags,
        system_tags=c.system_tags,
        ip=c.ip,
    )
    _append(uow, c.worker, events, now)
    uow.project()
    workerrows.save(uow.conn, new)
    return {}


def on_unregister(uow: UnitOfWork, c: wc.UnregisterWorker) -> Result:
    row = _open(uow, c.worker)
    if row is None or row.gone:
        return {}  # ClearML's default (auto_unregister): not an error
    now = _head(uow, c.worker)
    events = rules.silence(row, now) or rules.unregister(row, now)
    _append(uow, c.worker, events, now)
    uow.project()
    workerrows.save(uow.conn, structs.replace(row, gone=True, task=None, queue=None))
    return {}


def on_report(uow: UnitOfWork, c: cmd.ReportWorkerStatus) -> Result:
    """A heartbeat: the row takes it; a changed task is a fact, on the worker's stream and
    (as WorkerReported, the existing rule) on the task's, which makes the task's worker known."""
    task = c.task if isinstance(c.task, str) and c.task else None
    stored = _open(uow, c.worker, *([task] if task else []))
    if task is not None:
        uow.load([task])
        state = uow.states.get(task)
        if state is None or not state.visible_to(uow.metadata.company):
            task = None  # as docs/semantics.md "Liveness": an unknown task is ignored silently
    now = uow.now()
    row, events = _report_facts(uow, c, stored, task, now)
    if events:
        later = _head(uow, c.worker)
        if later > now:  # another process's clock ran ahead: the facts follow its last one
            now = later
            row, events = _report_facts(uow, c, stored, task, now)
        _append(uow, c.worker, events, now)
    took = row.task != task or uow.states[task].last_worker != c.worker if task else False
    if task is not None and took and not uow.states[task].public:
        # WorkerReported on the task: it took the task (a public task is read-only: the
        # worker's stream and row still say it runs it).
        apply_to_task(uow, c, task, None)
    uow.project()
    stats = rules.flatten_stats(c.machine_stats)
    new = structs.replace(
        row,
        ip=c.ip or row.ip,
        last_activity=now,
        last_report=now,
        task=task,
        queue=c.queue,
        queues=list(c.queues) if c.queues is not None else row.queues,
        tags=sorted(set(c.tags)) if c.tags is not None else row.tags,
        system_tags=sorted(set(c.system_tags)) if c.system_tags is not None else row.system_tags,
        reports=row.reports + (1 if stats else 0),
    )
    workerrows.save(uow.conn, new)
    if stats:
        ts = c.timestamp if c.timestamp is not None else int(now.timestamp() * 1000)
        workerrows.add_report(uow.conn, new, ts, task, stats)
    return {}


def _report_facts(
    uow: UnitOfWork,
    c: cmd.ReportWorkerStatus,
    row: WorkerRow | None,
    task: str | None,
    now: datetime,
) -> tuple[WorkerRow, list[ev.AnyEvent]]:
    """The worker's row before the heartbeat's own fields, and the facts of the report."""
    events: list[ev.AnyEvent] = []
    if row is None or not row.live(now):
        # ClearML's default (auto_register): a report registers an unknown worker.
        row, events = _register(
            uow,
            row,
            now,
            worker=c.worker,
            timeout=rules.DEFAULT_TIMEOUT,
            queues=row.queues if row is not None else [],
            tags=None,
            system_tags=None,
            ip=c.ip,
        )
    return row, events + rules.report_task(row, task, c.queue, now, uow.metadata.user)


def on_note_silent(uow: UnitOfWork, c: wc.NoteSilentWorkers) -> Result:
    """Record each overdue worker's silence once: the overdue are read, their streams locked,
    their rows read again (a heartbeat may have come meanwhile) and only the still overdue
    marked gone, under the lock every writer of a worker takes."""
    company = uow.metadata.company
    now = uow.now()
    overdue = workerrows.overdue(uow.conn, company, now)
    noted = 0
    if overdue:
        uow.lock([stream_of(company, w) for w in overdue])
        rows = workerrows.load(uow.conn, company, overdue)
        streams = [stream_of(company, w) for w in rows]
        uow.load_heads(streams)
        now = uow.now(streams)  # never before a stream's last fact
        for worker, row in sorted(rows.items()):
            events = rules.silence(row, now)
            if not events:
                continue
            _append(uow, worker, events, now)
            workerrows.save(uow.conn, structs.replace(row, gone=True, task=None, queue=None))
            noted += 1
        uow.project()
    workerrows.purge(uow.conn, company, now - rules.RETENTION)
    return {"silent": noted}


HANDLERS: dict[type[Any], Callable[[UnitOfWork, Any], Result]] = {
    wc.RegisterWorker: on_register,
    wc.UnregisterWorker: on_unregister,
    wc.NoteSilentWorkers: on_note_silent,
    cmd.ReportWorkerStatus: on_report,
}
