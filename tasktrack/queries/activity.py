"""Daily activity per project from the `activity_daily` rollup, and how far its projector has got.

The rollup is a catch-up projection (projections/activity.py): it holds the log up to its
runner's checkpoint, not up to now. So every answer says where that is (`as_of_position`,
`applied_at`) and how many of the company's committed events are not in it yet
(`pending_events`). Always within one company. See docs/analytics.md.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    func,
    literal_column,
    select,
    true,
    tuple_,
)

from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.queries.analytics import DEFAULT_LIMIT, limit_of, moment
from tasktrack.store.tables import (
    ACTIVITY_COUNTERS,
    activity_daily,
    events,
    projector_checkpoints,
)
from tasktrack.store.types import Xid8

# The projector's name in projections/registry.py (queries may not import projections).
PROJECTOR = "activity_daily"
# The company of the whole log's checkpoint (projections/checkpoints.ALL_TENANTS).
ALL_TENANTS = ""
COUNTERS = ACTIVITY_COUNTERS
# Pending events are counted up to here: the count stays cheap however far behind the runner is.
PENDING_CAP = 10_000
Day = date | str
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ActivityDay(msgspec.Struct, frozen=True, kw_only=True):
    """What happened to one project's tasks on one UTC day (as the log said at the time)."""

    project: str | None  # None: tasks without a project
    day: date
    tasks_created: int
    status_changes: int
    completed: int  # status changes to completed
    failed: int  # status changes to failed
    metric_reports: int  # requests that reported scalars (one report per task per request)
    metric_points: int  # the scalar points in those reports


class ProjectActivity(msgspec.Struct, frozen=True, kw_only=True):
    """The rollup's rows, oldest day first, and how fresh they are (one consistent snapshot)."""

    as_of_position: int  # the projector's checkpoint: the last event applied (0: never run)
    applied_at: datetime | None  # when the runner last applied events (None: never)
    pending_events: int  # this company's committed events beyond the checkpoint (capped)
    pending_capped: bool  # True: there are more than pending_events
    oldest_pending_at: datetime | None  # the earliest recorded_at among the pending events
    days: list[ActivityDay]


# --- validation: a bad day is 400/12, since after until or a bad limit is 400/16 ---------------


def day_of(value: Day | None, name: str) -> date | None:
    """A UTC day: a `date`, `YYYY-MM-DD`, or a time with a zone (the UTC day it falls in)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if _DAY.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise InvalidRequest(f"Validation error: {name} {value!r} is not a day") from None
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(
                f"Validation error: {name} {value!r} is neither a day (YYYY-MM-DD) "
                "nor an ISO time with a zone"
            ) from None
    if isinstance(value, str | datetime):
        when = moment(value, name)  # a time: refused without its zone
        assert when is not None
        try:
            return when.astimezone(UTC).date()
        except OverflowError:  # 0001-01-01T00:00+05:00 is before the first day
            raise InvalidRequest(f"Validation error: {name} {value!r} is out of range") from None
    if isinstance(value, date):
        return value
    raise InvalidRequest(f"Validation error: {name} is a day (YYYY-MM-DD) or an ISO time")


def days_window(since: Day | None, until: Day | None) -> tuple[date | None, date | None]:
    """Both days included: `since <= day <= until`."""
    start, end = day_of(since, "since"), day_of(until, "until")
    if start is not None and end is not None and start > end:
        raise BadFilter("since must not be after until", since=str(start), until=str(end))
    return start, end


# --- the query ---------------------------------------------------------------------------------


def project_activity(
    conn: Connection,
    company: str,
    *,
    project: str | None = None,
    since: Day | None = None,
    until: Day | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ProjectActivity:
    """Per project and UTC day, oldest first (projects by id within a day), up to `limit` rows."""
    (start, end), limit = days_window(since, until), limit_of(limit)
    d = activity_daily.c
    rows = select(d.project, d.day, *(d[c] for c in COUNTERS)).where(d.company == company)
    if project is not None:
        rows = rows.where(d.project == project)
    if start is not None:
        rows = rows.where(d.day >= start)
    if end is not None:
        rows = rows.where(d.day <= end)
    order = (d.day, d.project.collate("C"))
    days = rows.order_by(*order).limit(limit).subquery("days")
    head = _freshness(company).subquery("head")
    # ONE statement, so one snapshot: the rows and the checkpoint they were written with are
    # read together (the runner commits both in one transaction), and so is the pending count.
    # Two statements could see a batch land in between and report a stale checkpoint.
    stmt = (
        select(head, days)
        .select_from(head.outerjoin(days, true()))
        .order_by(days.c.day, days.c.project.collate("C"))
    )
    found = [dict(r._mapping) for r in conn.execute(stmt)]
    first = found[0]  # the head has one row, with or without days
    pending = int(first["pending"])
    return ProjectActivity(
        as_of_position=int(first["as_of_position"]),
        applied_at=first["applied_at"],
        pending_events=min(pending, PENDING_CAP),
        pending_capped=pending > PENDING_CAP,
        oldest_pending_at=first["oldest_pending_at"],
        days=[
            ActivityDay(
                project=r["project"] or None,
                day=r["day"],
                **{c: int(r[c]) for c in COUNTERS},
            )
            for r in found
            if r["day"] is not None
        ],
    )


def _freshness(company: str) -> Select[Any]:
    """One row: the checkpoint, and the company's committed events beyond it (up to the cap)."""
    cp, e = projector_checkpoints.c, events.c
    # The company's own checkpoint on a sharded log, the whole log's ('') on a single node
    # (projections/checkpoints.py): a tenant's name sorts after '', so it wins if both exist.
    mine = (cp.name == PROJECTOR) & cp.company.in_([company, ALL_TENANTS])

    def checkpoint(column: ColumnElement[Any]) -> Any:
        return select(column).where(mine).order_by(cp.company.desc()).limit(1).scalar_subquery()

    no_run: ColumnElement[Any] = literal_column("'0'::xid8", Xid8())
    at_tx = func.coalesce(checkpoint(cp.tx), no_run)
    at_position = func.coalesce(checkpoint(cp.position), 0)
    # Commit-safe, as the runner reads: only transactions below the horizon (store/eventlog.py),
    # in (tx, position) order after the checkpoint, so `pending_events` is what the next run
    # would apply for this company; one more than the cap tells a capped count.
    pending = (
        select(e.recorded_at)
        .where(e.company == company)
        .where(tuple_(e.tx, e.position) > tuple_(at_tx, at_position))
        .where(e.tx < func.pg_snapshot_xmin(func.pg_current_snapshot()))
        .order_by(e.tx, e.position)
        .limit(PENDING_CAP + 1)
        .cte("pending")
    )
    return select(
        at_position.label("as_of_position"),
        checkpoint(cp.updated_at).label("applied_at"),
        select(func.count()).select_from(pending).scalar_subquery().label("pending"),
        select(func.min(pending.c.recorded_at)).scalar_subquery().label("oldest_pending_at"),
    )
