"""organization.get_project_usages: per day, how long the tasks of projects ran, by project,
queue and user (from the tasks read model; queues carry no resources, so weights are 1)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, and_, not_, or_, select

from tasktrack.domain.errors import InvalidRequest
from tasktrack.queries.project_stats import descendants
from tasktrack.store.tables import projects, queues, tasks

BREAKDOWN_KEYS = ("project", "queue", "user")
USAGE_FIELDS = ("duration", "cpu_usage", "gpu_usage")
# As ClearML's defaults: these tasks are never counted.
_EXCLUDED_TAGS = ["dataset", "reports", "hidden"]
_EXCLUDED_TYPES = ["dataset_import", "annotation", "annotation_manual", "report", "controller"]
_DAY = 86400


def _moment(text: str) -> datetime:
    try:
        found = datetime.fromisoformat(text[:-1] if text.upper().endswith("Z") else text)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid ISO 8601 date {text}: {exc}") from exc
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _groups(conn: Connection, company: str, ids: Sequence[str]) -> dict[str, str]:
    """Project id -> the project it is counted under: one project asked is broken down by its
    direct children (its own tasks under itself); several, by the ones asked."""
    if len(ids) == 1:
        root = ids[0]
        stmt = select(projects.c.id).where(projects.c.company == company)
        heads = [r[0] for r in conn.execute(stmt.where(projects.c.parent == root))]
        group = {root: root}
    else:
        heads, group = list(ids), {}
    below = descendants(conn, company, heads)
    for head in heads:
        group[head] = head
        for child in below.get(head, []):
            group[child["id"]] = head
    return group


def _names(conn: Connection, company: str, key: str, ids: set[str]) -> dict[str, str]:
    if key == "project":
        stmt = select(projects.c.id, projects.c.name).where(projects.c.company == company)
        return {i: n for i, n in conn.execute(stmt.where(projects.c.id.in_(ids)))}
    if key == "queue":
        named = select(queues.c.id, queues.c.display_name, queues.c.name)
        found = conn.execute(named.where(queues.c.company == company, queues.c.id.in_(ids)))
        return {str(r[0]): str(r[1] or r[2]) for r in found}
    return {i: i for i in ids}  # a user's name is its id (users.get_all)


def _day_start(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time.min, tzinfo=tz)


def project_usages(
    conn: Connection,
    company: str,
    project_ids: Sequence[str],
    from_date: str,
    to_date: str,
    *,
    include_development: bool = False,
    breakdown_keys: Sequence[str] | None = None,
    usage_fields: Sequence[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """ClearML's answer: per breakdown key `<key>s` {total, series}, each entry {id, name,
    usages...}; a series has one value per day of [from_date, to_date] in from_date's zone."""
    if not project_ids:
        raise InvalidRequest("Validation error: projects must name at least one project")
    keys = list(breakdown_keys or ("project", "queue", "user"))
    fields = list(usage_fields or ("duration", "gpu_usage"))
    bad = sorted(set(keys) - set(BREAKDOWN_KEYS)) + sorted(set(fields) - set(USAGE_FIELDS))
    if bad:
        raise InvalidRequest(f"Validation error: unsupported breakdown keys or fields {bad}")
    first, last = _moment(from_date), _moment(to_date)
    if first > last:
        raise InvalidRequest("Validation error: from_date cannot be later than to_date")
    tz = first.tzinfo or UTC
    start = _day_start(first.date(), tz)
    end = _day_start(last.astimezone(tz).date(), tz) + timedelta(days=1)
    now = now or datetime.now(UTC)
    group = _groups(conn, company, project_ids)

    queue_col = tasks.c.execution["queue"].astext
    where = [
        tasks.c.company == company,
        tasks.c.project.in_(list(group)),
        tasks.c.started.is_not(None),
        tasks.c.started < end,
        or_(
            tasks.c.status == "in_progress",
            tasks.c.completed > start,
            and_(tasks.c.completed.is_(None), tasks.c.status_changed > start),
        ),
        not_(tasks.c.system_tags.overlap(_EXCLUDED_TAGS)),
        tasks.c.type.not_in(_EXCLUDED_TYPES),
    ]
    if not include_development:
        where += [
            not_(tasks.c.system_tags.any("development")),
            queue_col.is_not(None),
            queue_col != "",
        ]
    stmt = select(
        tasks.c.project,
        tasks.c.user_id,
        queue_col,
        tasks.c.status,
        tasks.c.started,
        tasks.c.completed,
        tasks.c.status_changed,
    ).where(*where)

    days = (end - start).days
    # key -> id -> per-day seconds
    per_day: dict[str, dict[str, list[float]]] = {k: {} for k in keys}
    for project, user, queue, status, started, completed, changed in conn.execute(stmt):
        begin = max(started, start)
        stop = min(now, end) if status == "in_progress" else min(completed or changed, end)
        if stop <= begin:
            continue
        ids = {"project": group[project], "user": user, "queue": queue or "_other_"}
        for day in range(days):
            lo = max(begin, start + timedelta(days=day))
            hi = min(stop, start + timedelta(days=day + 1))
            if hi > lo:
                for key in keys:
                    row = per_day[key].setdefault(ids[key], [0.0] * days)
                    row[day] += (hi - lo).total_seconds()
    dates = [(start + timedelta(days=d)).timestamp() for d in range(days)]
    answer: dict[str, Any] = {}
    for key in keys:
        names = _names(conn, company, key, set(per_day[key]))
        names.setdefault("_other_", "other")
        total, series = [], []
        for ident, seconds in sorted(per_day[key].items()):
            values = {f: [int(s) if f == "duration" else float(s) for s in seconds] for f in fields}
            weights = {f"{f.split('_')[0]}_artificial_weights": True for f in fields if "_" in f}
            name = names.get(ident, ident)
            series.append({"name": name, "id": ident, "dates": dates, **values, **weights})
            total.append(
                {"name": name, "id": ident, **{f: sum(v) for f, v in values.items()}, **weights}
            )
        answer[f"{key}s"] = {"total": total, "series": series}
    return answer
