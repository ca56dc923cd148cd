"""projects.get_all_ex's `children_type` (pipeline, report, dataset) and `children_tags` /
`children_tags_filter`: which projects hold such children (they and their ancestors are
listed), which tasks the statistics and own contents count, and the datasets' statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, and_, func, not_, select, true

from tasktrack.domain import project_names as names
from tasktrack.queries.filter_more import FieldFilter
from tasktrack.queries.filter_more_sql import field_filter
from tasktrack.queries.filters import array_condition
from tasktrack.queries.project_stats import descendants, own_contents, stats
from tasktrack.queries.task_columns import Condition
from tasktrack.store.tables import projects, tasks

ChildKind = Literal["pipeline", "report", "dataset"]
# The folders ClearML keeps pipelines and datasets in are not pipelines or datasets.
_CONTAINERS = {"pipeline": ".pipelines", "dataset": ".datasets"}
# A child task of each kind: its system tag and its type.
_TASKS = {"report": ("reports", "report"), "pipeline": ("pipeline", "controller")}


class Children(msgspec.Struct, frozen=True, kw_only=True):
    """The children a listing asks about (no kind: every task counts, as before)."""

    kind: ChildKind | None = None
    tags: list[str | None] | None = None
    tags_filter: FieldFilter | None = None

    @property
    def stats_hidden(self) -> bool:
        """Pipelines and reports are counted hidden or not (ClearML searches them hidden)."""
        return self.kind in _TASKS


def _tags(c: Children, on_tasks: bool) -> Condition:
    """The tags condition on the children: tasks' tags, or (datasets, pipelines) projects'."""
    if c.tags_filter is not None:
        return (
            field_filter("tags", c.tags_filter) if on_tasks else _project_tags_filter(c.tags_filter)
        )
    if c.tags:
        return array_condition(tasks.c.tags if on_tasks else projects.c.tags, "tags", c.tags)
    return true()


def _project_tags_filter(f: FieldFilter) -> Condition:
    parts: list[Condition] = []
    for values, any_of in ((f.any, True), (f.all, False)):
        if values is None:
            continue
        include = [v for v in values.include if v is not None]
        exclude = [v for v in values.exclude if v is not None]
        if include:
            held = projects.c.tags.overlap(include) if any_of else projects.c.tags.contains(include)
            parts.append(held)
        if exclude:
            held = projects.c.tags.contains(exclude) if any_of else projects.c.tags.overlap(exclude)
            parts.append(not_(held))
    return and_(true(), *parts)


def task_condition(c: Children) -> Condition | None:
    """The tasks that count in the statistics and own contents of a listing by kind."""
    if c.kind not in _TASKS:
        return None
    tag, kind = _TASKS[c.kind]
    return and_(tasks.c.system_tags.contains([tag]), tasks.c.type == kind, _tags(c, on_tasks=True))


def _dataset_projects(c: Children) -> Condition:
    return and_(
        projects.c.system_tags.contains(["dataset"]),
        _tags(c, on_tasks=False),
    )


def selected(
    conn: Connection, company: str, c: Children, users: Sequence[str] | None = None
) -> set[str]:
    """The projects that hold a child of the kind (with the tags), and their ancestors."""
    assert c.kind is not None
    if c.kind == "report":
        stmt = select(tasks.c.project).where(
            tasks.c.company == company,
            tasks.c.project.is_not(None),
            tasks.c.system_tags.contains(["reports"]),
            _tags(c, on_tasks=True),
        )
        if users:
            stmt = stmt.where(tasks.c.user_id.in_(list(users)))
    else:
        container = _CONTAINERS[c.kind]
        stmt = select(projects.c.id).where(
            projects.c.company == company,
            projects.c.system_tags.contains([c.kind]),
            not_(projects.c.name.endswith(f"/{container}", autoescape=True)),
            projects.c.name != container,
            _tags(c, on_tasks=False),
        )
        if users:
            stmt = stmt.where(projects.c.user_id.in_(list(users)))
    found = {r[0] for r in conn.execute(stmt.distinct())}
    if not found:
        return set()
    tree = conn.execute(
        select(projects.c.id, projects.c.name).where(projects.c.company == company)
    ).all()
    by_name = {n: i for i, n in tree}
    named = {i: n for i, n in tree}
    out = set(found)
    for pid in found:
        out |= {by_name[a] for a in names.ancestors(named.get(pid, "")) if a in by_name}
    return out


def own_datasets(
    conn: Connection, company: str, ids: Sequence[str], c: Children, users: Sequence[str] | None
) -> dict[str, dict[str, int]]:
    """Per project, how many dataset projects are directly under it."""
    stmt = (
        select(projects.c.parent, func.count())
        .where(
            projects.c.company == company,
            projects.c.parent.in_(list(ids)),
            _dataset_projects(c),
        )
        .group_by(projects.c.parent)
    )
    if users:
        stmt = stmt.where(projects.c.user_id.in_(list(users)))
    counts = {r[0]: r[1] for r in conn.execute(stmt)}
    return {p: {"own_datasets": counts.get(p, 0)} for p in ids}


def dataset_stats(
    conn: Connection,
    company: str,
    scope: dict[str, list[str]],
    c: Children,
    users: Sequence[str] | None,
) -> dict[str, dict[str, Any]]:
    """Per project, the dataset projects in it or below (`scope`: the project and the
    descendants that count) and their tags: {"datasets": {count, tags}}."""
    every = sorted({x for members in scope.values() for x in members})
    stmt = select(projects.c.parent, projects.c.tags).where(
        projects.c.company == company, projects.c.parent.in_(every), _dataset_projects(c)
    )
    if users:
        stmt = stmt.where(projects.c.user_id.in_(list(users)))
    per: dict[str, list[list[str]]] = {}
    for parent, tags in conn.execute(stmt):
        per.setdefault(parent, []).append(list(tags or []))
    out: dict[str, dict[str, Any]] = {}
    for p, members in scope.items():
        found = [t for m in members for t in per.get(m, [])]
        out[p] = {"datasets": {"count": len(found), "tags": sorted({x for t in found for x in t})}}
    return out


def listing_stats(
    conn: Connection,
    company: str,
    ids: Sequence[str],
    users: Sequence[str] | None,
    children: Children | None,
    *,
    search_hidden: bool,
    allowed: set[str] | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """include_stats: the tasks' statistics ({"active": ...}), or by children_type dataset the
    datasets' ({"datasets": {count, tags}}), and the sub projects."""
    if children is not None and children.kind == "dataset":
        subs = descendants(conn, company, ids)
        if allowed is not None:
            subs = {p: [x for x in found if x["id"] in allowed] for p, found in subs.items()}
        scope = {p: [p, *(x["id"] for x in subs[p])] for p in ids}
        return dataset_stats(conn, company, scope, children, users), subs
    hidden = search_hidden or (children is not None and children.stats_hidden)
    where = task_condition(children) if children is not None else None
    return stats(conn, company, ids, users, where=where, search_hidden=hidden, allowed=allowed)


def listing_own(
    conn: Connection,
    company: str,
    ids: Sequence[str],
    users: Sequence[str] | None,
    children: Children | None,
) -> dict[str, dict[str, int]]:
    """check_own_contents: own tasks and models (of the kind), or own datasets."""
    if children is not None and children.kind == "dataset":
        return own_datasets(conn, company, ids, children, users)
    where = task_condition(children) if children is not None else None
    return own_contents(conn, company, ids, users, where)
