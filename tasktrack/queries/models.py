"""Reading models: by id, by task, by filters (get_all / get_all_ex), and their frameworks.

A company reads its own models and public ones (ClearML's "company or public" rule).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, Row, Select, and_, false, func, or_, select, true

from tasktrack.domain.errors import BadFilter, TaskNotFound
from tasktrack.domain.model_errors import ModelNotFound
from tasktrack.queries.filter_more import FieldFilter
from tasktrack.queries.filter_request import check_expanded, check_pattern, check_values
from tasktrack.queries.listing import bad_name_pattern, count_matching
from tasktrack.queries.project_contents import with_children
from tasktrack.queries.tasks import last_metrics
from tasktrack.queries.views import LastMetrics
from tasktrack.store.tables import models, tasks

MAX_PAGE_SIZE = 500


class ModelStats(msgspec.Struct, frozen=True, kw_only=True):
    labels_count: int


class ModelView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """ClearML's model object (metadata keyed by key, as ClearML answers it)."""

    id: str
    name: str
    user: str
    company: str
    created: datetime
    last_update: datetime
    last_change: datetime
    last_changed_by: str
    uri: str | None = None
    task: str | None = None
    parent: str | None = None
    project: str | None = None
    comment: str
    tags: list[str]
    system_tags: list[str]
    framework: str | None = None
    design: dict[str, Any] | None = None
    # Always answered (no default, so omit_defaults keeps them): the SDK and ClearML's tests
    # read `ready` and `labels` of every model.
    labels: dict[str, int]
    ready: bool
    ui_cache: dict[str, Any] | None = None
    metadata: dict[str, Any]
    last_iteration: int | None = None
    # The aggregates of the scalars reported against the model (model_event), as a task's.
    last_metrics: LastMetrics = {}
    stats: ModelStats | None = None


class ModelFilter(msgspec.Struct, frozen=True, kw_only=True):
    id: list[str] | None = None
    name: str | None = None
    project: str | list[str] | None = None
    # `project` also means every project below the ones named.
    include_subprojects: bool = False
    task: list[str] | None = None
    framework: list[str] | None = None
    uri: list[str] | None = None
    user: list[str] | None = None
    ready: bool | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    include_stats: bool = False
    # Other companies' public models too (ClearML's default); False: the company's own only.
    allow_public: bool = True
    # ClearML's structured tag filters (the UI's Tags column): `tags` / `system_tags` only.
    filters: dict[Literal["tags", "system_tags"], FieldFilter] | None = None
    # ClearML's order keys (`-` descends); none: the newest first.
    order_by: str | list[str] | None = None
    page: int = 0
    page_size: int = MAX_PAGE_SIZE


_VIEW_COLUMNS = [c for c in models.c if c.name not in ("stream_version", "head_hash", "head_at")]


def _view(row: Row[Any], stats: bool = False, metrics: LastMetrics | None = None) -> ModelView:
    fields: dict[str, Any] = {str(k): v for k, v in row._asdict().items()}
    if metrics:
        fields["last_metrics"] = metrics
    fields["user"] = fields.pop("user_id")
    fields.pop("public")
    fields["metadata"] = {m["key"]: m for m in fields["metadata"] or []}
    if stats:
        fields["stats"] = {"labels_count": len(fields["labels"] or {})}
    view: ModelView = msgspec.convert(fields, ModelView)
    return view


def _readable(company: str) -> Any:
    return or_(models.c.company == company, models.c.public == true())


def get_by_id(conn: Connection, company: str, model_id: str) -> ModelView:
    row = conn.execute(
        select(*_VIEW_COLUMNS).where(models.c.id == model_id, _readable(company))
    ).fetchone()
    if row is None:
        raise ModelNotFound(model_id)
    return _view(row, metrics=last_metrics(conn, [model_id]).get(model_id))


def get_by_task_id(conn: Connection, company: str, task_id: str) -> ModelView:
    """The task's last output model."""
    found = conn.execute(
        select(tasks.c.models).where(tasks.c.id == task_id, tasks.c.company == company)
    ).fetchone()
    if found is None:
        raise TaskNotFound(task_id)
    outputs = (found[0] or {}).get("output") or []
    if not outputs:
        raise BadFilter("task has no output model", field="models.output")
    return get_by_id(conn, company, outputs[-1]["model"])


def _tag_filter(column: Any, wanted: list[str]) -> Any:
    """ClearML's tag filter: every plain tag present, every "-tag" absent."""
    cond = true()
    for tag in wanted:
        if tag.startswith("-"):
            cond = cond & ~column.contains([tag[1:]])
        elif tag:
            cond = cond & column.contains([tag])
    return cond


def _in(column: str, values: list[str] | None) -> list[Any]:
    """`column` is one of the values (none: nothing matches); no values given: no condition."""
    if values is None:
        return []
    return [models.c[column].in_(values) if values else false()]


def get_all(
    conn: Connection, company: str, f: ModelFilter, window: tuple[int, int] | None = None
) -> list[ModelView]:
    """One page of the models the filter matches (or `window`: start and size, for a scroll)."""
    if f.page < 0 or f.page_size < 1:
        raise BadFilter("page must be >= 0 and page_size >= 1")
    stmt = _matching(conn, company, f)
    size = min(f.page_size, MAX_PAGE_SIZE)
    offset = min(f.page * size, 2**63 - 1)
    if window is not None:
        offset, size = window[0], min(window[1], MAX_PAGE_SIZE)
    stmt = stmt.order_by(*_order(f.order_by)).limit(size).offset(offset)
    with bad_name_pattern(conn, f.name):
        rows = conn.execute(stmt).fetchall()
    metrics = last_metrics(conn, [r.id for r in rows])
    return [_view(r, f.include_stats, metrics.get(r.id)) for r in rows]


# The keys a models listing sorts by (the UI's columns): the user and project columns sort by
# their ids, which keeps one user's (one project's) models together as their names would.
_ORDER_COLUMNS: dict[str, Any] = {
    "name": models.c.name,
    "created": models.c.created,
    "last_update": models.c.last_update,
    "last_change": models.c.last_change,
    "framework": models.c.framework,
    "ready": models.c.ready,
    "comment": models.c.comment,
    "uri": models.c.uri,
    "task": models.c.task,
    "id": models.c.id,
    "user": models.c.user_id,
    "user.name": models.c.user_id,
    "project": models.c.project,
    "project.name": models.c.project,
    "task.name": models.c.task,
    "last_iteration": models.c.last_iteration,
}


def _order(keys: str | list[str] | None) -> list[Any]:
    """ORDER BY of the keys (`-` descends), then id, so that pages (and scrolls) of equal keys
    neither repeat nor skip a model; no keys: the newest first."""
    wanted = [keys] if isinstance(keys, str) else [k for k in keys or [] if k]
    if not wanted:
        return [models.c.created.desc(), models.c.id]
    clauses = []
    for key in wanted:
        name = key.lstrip("-")
        column = _ORDER_COLUMNS.get(name)
        if column is None:
            raise BadFilter(f"cannot order models by {name!r}", field="order_by", value=key)
        clauses.append(column.desc().nulls_last() if key.startswith("-") else column.asc())
    return [*clauses, models.c.id]


def count(conn: Connection, company: str, f: ModelFilter, limit: int | None) -> int:
    """How many models the filter matches (at most `limit`), whatever its page."""
    with bad_name_pattern(conn, f.name):
        return count_matching(conn, _matching(conn, company, f), limit)


def _matching(conn: Connection, company: str, f: ModelFilter) -> Select[Any]:
    """Every model the filter matches, in no order and unpaged."""
    check_values("id", f.id)
    check_pattern("name", f.name)
    readable = _readable(company) if f.allow_public else models.c.company == company
    stmt = select(*_VIEW_COLUMNS).where(readable)
    check_values("project", f.project)
    projects = [f.project] if isinstance(f.project, str) else f.project
    if projects and f.include_subprojects:
        projects = with_children(conn, company, projects)
        check_expanded(projects)
    stmt = stmt.where(*_in("project", projects))
    for name in ("id", "task", "framework", "uri"):
        stmt = stmt.where(*_in(name, getattr(f, name)))
    if f.user is not None:
        stmt = stmt.where(models.c.user_id.in_(f.user))
    if f.ready is not None:
        stmt = stmt.where(models.c.ready == f.ready)
    if f.name is not None:
        stmt = stmt.where(models.c.name.regexp_match(f.name))
    if f.tags:
        stmt = stmt.where(_tag_filter(models.c.tags, f.tags))
    if f.system_tags:
        stmt = stmt.where(_tag_filter(models.c.system_tags, f.system_tags))
    for name, wanted in (f.filters or {}).items():
        stmt = stmt.where(_field_filter(models.c[name], wanted))
    return stmt


def _field_filter(col: Any, f: FieldFilter) -> Any:
    """ClearML's `filters` entry on a tag array: `any` (one include held, or one exclude
    missing; null: empty), `all` (every include held, no exclude), joined by `op`."""
    empty = func.coalesce(func.cardinality(col), 0) == 0
    joined = []
    for values, any_of in ((f.any, True), (f.all, False)):
        if values is None:
            continue
        include = sorted({v for v in values.include if v is not None})
        exclude = sorted({v for v in values.exclude if v is not None})
        parts = []
        if include:
            parts.append(col.overlap(include) if any_of else col.contains(include))
        if None in values.include:
            parts.append(empty)
        if exclude:
            parts.append(~col.contains(exclude) if any_of else ~col.overlap(exclude))
        if None in values.exclude:
            parts.append(~empty)
        if parts:
            joined.append(or_(*parts) if any_of else and_(*parts))
    if not joined:
        return true()
    return and_(*joined) if f.op == "and" else or_(*joined)


def get_frameworks(conn: Connection, company: str, projects: list[str] | None) -> list[str]:
    stmt = (
        select(models.c.framework)
        .where(_readable(company), models.c.framework.is_not(None))
        .distinct()
        .order_by(models.c.framework)
    )
    if projects:  # and every project below them, as ClearML
        stmt = stmt.where(models.c.project.in_(with_children(conn, company, projects)))
    return [r[0] for r in conn.execute(stmt)]
