"""Status analytics over the SQL views of migration 0009, always within one company.

Intervals, per-status durations, queue waits, summaries per project/type/user/day, and the
tasks that were in a status at a moment. Time windows (`since`, `until`) select by when an
interval was entered (a visit by when it was queued): `since <= entered_at < until`.
See docs/analytics.md for the views and what each column means.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    ColumnElement,
    Connection,
    Double,
    Select,
    TableClause,
    case,
    cast,
    extract,
    func,
    select,
)

from tasktrack.domain.errors import BadFilter, InvalidRequest, TaskNotFound
from tasktrack.domain.values import STATUSES
from tasktrack.queries.analytics_views import (
    QueueWait,
    StatusDuration,
    StatusInterval,
    StatusSummary,
    TaskInStatus,
    durations,
    intervals,
    queue_waits,
)
from tasktrack.store.tables import tasks

GroupBy = Literal["project", "type", "user", "day"]
GROUP_BY: tuple[GroupBy, ...] = get_args(GroupBy)
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
Moment = datetime | str

# --- validation: bad values are 400/12, a window or limit that cannot select is 400/16 --------


def status_of(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise InvalidRequest(
            f"Validation error: unknown status {value!r} (one of {', '.join(STATUSES)})"
        )
    return value


def moment(value: Moment | None, name: str) -> datetime | None:
    """A time with a zone: a datetime, or an ISO 8601 string (`Z` allowed)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"Validation error: {name} {value!r} is not an ISO time") from None
    if not isinstance(value, datetime):
        raise InvalidRequest(f"Validation error: {name} is an ISO time with a zone")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequest(f"Validation error: {name} needs a timezone (e.g. Z or +00:00)")
    return value


def window(since: Moment | None, until: Moment | None) -> tuple[datetime | None, datetime | None]:
    start, end = moment(since, "since"), moment(until, "until")
    if start is not None and end is not None and start > end:
        raise BadFilter("since must not be after until", since=str(since), until=str(until))
    return start, end


def limit_of(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest("Validation error: limit is an integer")
    if not 1 <= value <= MAX_LIMIT:
        raise BadFilter(f"limit must be between 1 and {MAX_LIMIT}", limit=value)
    return value


def group_of(value: str) -> GroupBy:
    for allowed in GROUP_BY:
        if value == allowed:
            return allowed
    raise InvalidRequest(
        f"Validation error: group_by {value!r} is not one of {', '.join(GROUP_BY)}"
    )


# --- queries -----------------------------------------------------------------------------------


def _require_task(conn: Connection, company: str, task: str | None) -> None:
    """400/101 unless `task` (when given) is a live task of the company."""
    if task is None:
        return
    found = conn.execute(
        select(tasks.c.id).where(tasks.c.id == task, tasks.c.company == company)
    ).fetchone()
    if found is None:
        raise TaskNotFound(task)


def _rows(conn: Connection, stmt: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(stmt)]


def status_intervals(
    conn: Connection,
    company: str,
    *,
    task: str | None = None,
    project: str | None = None,
    status: str | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[StatusInterval]:
    """Intervals in order of entry (a task's in seq order): 400/101 for an unknown task."""
    status, (start, end), limit = status_of(status), window(since, until), limit_of(limit)
    _require_task(conn, company, task)
    v = intervals.c
    stmt = select(*(c for c in intervals.c if c.name != "company")).where(v.company == company)
    stmt = _matching(stmt, intervals, task_id=task, project=project, status=status)
    stmt = _between(stmt, v.entered_at, start, end)
    stmt = stmt.order_by(v.entered_at, v.task_id, v.seq).limit(limit)
    return [StatusInterval(**row) for row in _rows(conn, stmt)]


def status_durations(
    conn: Connection,
    company: str,
    *,
    task: str | None = None,
    project: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[StatusDuration]:
    """Per task and status: entries and time spent, tasks in id order, statuses by first entry."""
    status, limit = status_of(status), limit_of(limit)
    _require_task(conn, company, task)
    v = durations.c
    stmt = select(*(c for c in durations.c if c.name != "company")).where(v.company == company)
    stmt = _matching(stmt, durations, task_id=task, project=project, status=status)
    stmt = stmt.order_by(v.task_id, v.first_entered_at, v.status).limit(limit)
    return [StatusDuration(**row) for row in _rows(conn, stmt)]


def task_queue_waits(
    conn: Connection,
    company: str,
    *,
    task: str | None = None,
    project: str | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    started_only: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[QueueWait]:
    """Visits to the queue in order of queueing (started_only: those that went on to run)."""
    (start, end), limit = window(since, until), limit_of(limit)
    _require_task(conn, company, task)
    v = queue_waits.c
    stmt = select(*(c for c in queue_waits.c if c.name != "company")).where(v.company == company)
    stmt = _matching(stmt, queue_waits, task_id=task, project=project)
    stmt = _between(stmt, v.queued_at, start, end)
    if started_only:
        stmt = stmt.where(v.started_at.is_not(None))
    stmt = stmt.order_by(v.queued_at, v.task_id).limit(limit)
    return [QueueWait(**row) for row in _rows(conn, stmt)]


# Statuses in the order of STATUSES (created, queued, in_progress, …), not alphabetically.
_LIFECYCLE_ORDER = case({s: i for i, s in enumerate(STATUSES)}, value=intervals.c.status)


def _seconds(interval: ColumnElement[Any]) -> ColumnElement[float]:
    """An interval's seconds, exact (numeric) and then a double."""
    return cast(extract("epoch", interval), Double)


def status_summary(
    conn: Connection,
    company: str,
    group_by: str = "project",
    *,
    project: str | None = None,
    status: str | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
) -> list[StatusSummary]:
    """Per group and status: the intervals entered, how many are still open, and their time
    (what the `status_daily` view holds, for one grouping and any time window)."""
    by, status, (start, end) = group_of(group_by), status_of(status), window(since, until)
    v = intervals.c
    utc_day = func.to_char(func.timezone("UTC", v.entered_at), "YYYY-MM-DD")
    key = {"project": v.project, "type": v.type, "user": v.user_id, "day": utc_day}[by]
    closed = func.sum(v.left_at - v.entered_at)
    so_far = func.sum(func.coalesce(v.left_at, func.now()) - v.entered_at)
    stmt = (
        select(
            key.label("group"),
            v.status,
            func.count().label("entries"),
            func.count().filter(v.left_at.is_(None)).label("open_entries"),
            func.coalesce(_seconds(closed), 0.0).label("seconds"),
            _seconds(so_far).label("seconds_so_far"),
            _seconds(func.avg(v.left_at - v.entered_at)).label("mean_seconds"),
            func.max(v.seconds).label("max_seconds"),
        )
        .where(v.company == company)
        .group_by(key, v.status)
        .order_by(key.collate("C").asc().nulls_first(), _LIFECYCLE_ORDER)
    )
    stmt = _matching(stmt, intervals, project=project, status=status)
    stmt = _between(stmt, v.entered_at, start, end)
    return [StatusSummary(**row) for row in _rows(conn, stmt)]


def tasks_in_status(conn: Connection, company: str, status: str, at: Moment) -> list[TaskInStatus]:
    """The tasks that were in `status` at `at` (intervals are [entered_at, left_at))."""
    checked, when = status_of(status), moment(at, "at")
    if checked is None or when is None:
        raise InvalidRequest("Validation error: status and at are required")
    v = intervals.c
    stmt = (
        select(v.task_id, v.project, v.type, v.user_id, v.entered_at, v.left_at)
        .where(v.company == company, v.status == checked, v.entered_at <= when)
        .where((v.left_at > when) | v.left_at.is_(None))
        .order_by(v.entered_at, v.task_id)
    )
    return [TaskInStatus(**row) for row in _rows(conn, stmt)]


def _matching(stmt: Select[Any], view: TableClause, **given: str | None) -> Select[Any]:
    """`view.<column> = value` for every given value that is not None."""
    for name, value in given.items():
        if value is not None:
            stmt = stmt.where(view.c[name] == value)
    return stmt


def _between(
    stmt: Select[Any], at: ColumnElement[Any], start: datetime | None, end: datetime | None
) -> Select[Any]:
    if start is not None:
        stmt = stmt.where(at >= start)
    if end is not None:
        stmt = stmt.where(at < end)
    return stmt
