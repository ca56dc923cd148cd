"""Workers' rules, pure: what a registration or heartbeat changes, and which of it is a fact.

A worker is known by its row (the latest state: heartbeats update it in place) and its stream
`worker:<len(company)>:<company>:<id>` in the log (the facts: registered, took or left a task,
unregistered, went silent). The service reads the row, asks these functions, appends what
they return and writes the row (service/workers.py); docs/architecture.md ("Workers") says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec

from tasktrack.domain import events as ev

DEFAULT_TIMEOUT = 600  # seconds: ClearML's services.workers.default_worker_timeout_sec
MIN_CHART_INTERVAL = 40  # seconds: ClearML's services.workers.min_chart_interval_sec
# Machine-stats reports kept per worker (a week at the agent's 30 s): older ones are deleted.
MAX_REPORTS = 20_160
# A task is live for `tasks.stop` while its worker reported it this recently (SEMANTICS: 600 s).
LIVE_TASK_SECONDS = 600
# A gone worker's row (and its reports) is purged this long after it was last seen.
RETENTION = timedelta(days=7)


class WorkerRow(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's latest state, as its row holds it."""

    company: str
    id: str
    user: str
    ip: str | None = None
    register_time: datetime
    timeout: int
    last_activity: datetime
    last_report: datetime | None = None
    task: str | None = None
    queue: str | None = None
    queues: list[str] = []
    tags: list[str] = []
    system_tags: list[str] = []
    reports: int = 0
    gone: bool = False

    def live(self, now: datetime) -> bool:
        """Registered, and its timeout has not passed since it was last heard from."""
        return not self.gone and now < self.deadline

    @property
    def deadline(self) -> datetime:
        return self.last_activity + timedelta(seconds=self.timeout)


def stream_of(company: str, worker: str) -> str:
    """A worker's stream id: its id is unique within its company only, so the id names the
    company too, length-prefixed (company "a" and worker "b:c" must not meet company "a:b"
    and worker "c" in one stream: two tenants would share it)."""
    return f"worker:{len(company)}:{company}:{worker}"


def silence(row: WorkerRow, now: datetime) -> list[ev.AnyEvent]:
    """The fact that a registered worker's timeout passed (nothing if it has not, or was
    recorded already), and that it no longer runs its task."""
    if row.gone or now < row.deadline:
        return []
    events: list[ev.AnyEvent] = []
    if row.task:
        events.append(ev.WorkerLeftTask(at=now, by=row.user, worker=row.id, task=row.task))
    events.append(
        ev.WorkerWentSilent(
            at=now, by=row.user, worker=row.id, last_seen=row.last_activity, timeout=row.timeout
        )
    )
    return events


def register(
    row: WorkerRow | None,
    *,
    company: str,
    worker: str,
    user: str,
    timeout: int,
    queues: list[str],
    tags: list[str] | None,
    system_tags: list[str] | None,
    ip: str | None,
    now: datetime,
) -> tuple[WorkerRow, list[ev.AnyEvent]]:
    """The row after a registration, and the fact if it is one: a worker that was not live, or
    whose queues, tags or timeout changed (a repeated identical registration is a refresh)."""
    tags_now = sorted(set(tags or []))
    system_now = sorted(set(system_tags or []))
    was_live = row is not None and row.live(now)
    new = WorkerRow(
        company=company,
        id=worker,
        user=user,
        ip=ip,
        register_time=row.register_time if was_live and row is not None else now,
        timeout=timeout,
        last_activity=now,
        last_report=row.last_report if row is not None else None,
        task=row.task if was_live and row is not None else None,
        queue=row.queue if was_live and row is not None else None,
        queues=list(queues),
        tags=tags_now,
        system_tags=system_now,
        reports=row.reports if row is not None else 0,
    )
    same = (
        was_live
        and row is not None
        and (row.queues, row.tags, row.system_tags, row.timeout)
        == (new.queues, new.tags, new.system_tags, new.timeout)
    )
    events: list[ev.AnyEvent] = []
    if not same:
        events.append(
            ev.WorkerRegistered(
                at=now,
                by=user,
                worker=worker,
                timeout=timeout,
                queues=new.queues,
                tags=tags_now,
                system_tags=system_now,
            )
        )
    return new, events


def unregister(row: WorkerRow | None, now: datetime) -> list[ev.AnyEvent]:
    """The facts of a worker going away: none for one not registered (ClearML's default
    `auto_unregister`: not an error)."""
    if row is None or not row.live(now):
        return []
    events: list[ev.AnyEvent] = []
    if row.task:
        events.append(ev.WorkerLeftTask(at=now, by=row.user, worker=row.id, task=row.task))
    events.append(ev.WorkerUnregistered(at=now, by=row.user, worker=row.id))
    return events


def report_task(
    row: WorkerRow, task: str | None, queue: str | None, now: datetime, user: str
) -> list[ev.AnyEvent]:
    """The facts of a heartbeat: only a change of the task it runs (the rest is state)."""
    if row.task == task:
        return []
    events: list[ev.AnyEvent] = []
    if row.task:
        events.append(ev.WorkerLeftTask(at=now, by=user, worker=row.id, task=row.task))
    if task:
        events.append(ev.WorkerTookTask(at=now, by=user, worker=row.id, task=task, queue=queue))
    return events


def flatten_stats(stats: Mapping[str, float | list[float] | None] | None) -> dict[str, list[float]]:
    """A report's machine stats as {metric: [value per resource]}, empty values left out (as
    ClearML leaves them out of its statistics)."""
    out: dict[str, list[float]] = {}
    for metric, value in (stats or {}).items():
        if not value:
            # ClearML skips falsy values (a 0 reading included) when it stores statistics.
            continue
        out[metric] = [float(v) for v in value] if isinstance(value, list) else [float(value)]
    return out


def category(metric: str) -> str:
    """A metric's category, as ClearML names it: the part before the first underscore."""
    return metric.partition("_")[0]


def chart_interval(interval: int) -> int:
    return max(interval, MIN_CHART_INTERVAL)


def _extended(from_date: float, to_date: float, interval: int) -> list[int]:
    """Fixed `interval`-second buckets aligned on the epoch, from the one holding `from_date`
    to the one holding `to_date` (ms; Elasticsearch's extended bounds, as ClearML asks)."""
    step = interval * 1000
    first = int(from_date) * 1000 // step * step
    last = int(to_date) * 1000 // step * step
    return list(range(first, last + 1, step))


def buckets(from_date: float, to_date: float, interval: int) -> list[int]:
    """workers.get_stats' buckets (ms): without a last bucket that starts within 0.9 interval
    of `to_date` (incomplete, as ClearML drops it)."""
    cutoff = (to_date - 0.9 * interval) * 1000
    keys = _extended(from_date, to_date, interval)
    while keys and keys[-1] >= cutoff:
        keys.pop()
    return keys


def activity_buckets(from_date: float, to_date: float, interval: int) -> list[int]:
    """workers.get_activity_report's buckets (ms): ClearML's server always drops the last one
    there (its cutoff compares a bucket's start in ms with `to_date` in seconds), so a chart
    has the same number of buckets whatever its alignment; so does this one."""
    return _extended(from_date, to_date, interval)[:-1]


def glob_regex(pattern: str) -> str:
    """A worker name pattern (`*` any run, `?` one character) as an anchored regex."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else _escape(ch))
    return "^" + "".join(out) + "$"


def _escape(ch: str) -> str:
    return "\\" + ch if ch in r"\.^$+{}[]()|" else ch


def split_tags(tags: list[str] | None) -> tuple[list[str], list[str]]:
    """A tag filter as (included, excluded): a leading `-` excludes."""
    include = [t for t in tags or [] if not t.startswith("-")]
    exclude = [t[1:] for t in tags or [] if t.startswith("-")]
    return include, exclude
