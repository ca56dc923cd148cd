"""Reading projects: by id, and by filters (a name regex as ClearML's SDK looks them up, the
level of the tree, tags)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, Select, func, select

from tasktrack.domain.errors import BadFilter, ProjectNotFound
from tasktrack.queries.filter_request import check_pattern, check_values
from tasktrack.queries.filters import array_condition
from tasktrack.queries.listing import bad_name_pattern, count_matching
from tasktrack.store.tables import projects

MAX_PAGE_SIZE = 500


class ProjectView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    name: str
    basename: str
    description: str
    user: str
    company: str
    created: datetime
    tags: list[str]
    system_tags: list[str]
    default_output_destination: str | None = None
    parent: str | None = None
    last_update: datetime | None = None


class ProjectFilter(msgspec.Struct, frozen=True, kw_only=True):
    id: list[str] | None = None
    name: str | None = None
    basename: str | None = None
    # Under these projects: at any depth, or (shallow_search) directly.
    parent: list[str] | None = None
    # Only one level: the children of `parent`, or the top level without it.
    shallow_search: bool = False
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    search_hidden: bool = False
    # ClearML's sort keys, "-" for descending (the web UI asks `featured, -last_update`).
    order_by: list[str] | None = None
    page: int = 0
    page_size: int = MAX_PAGE_SIZE


_COLUMNS = [
    projects.c[n]
    for n in (
        "id",
        "name",
        "description",
        "user_id",
        "company",
        "created",
        "tags",
        "system_tags",
        "default_output_destination",
        "parent",
        "last_update",
    )
]


def _view(row: Row[Any]) -> ProjectView:
    fields = {str(k): v for k, v in row._asdict().items()}  # keys are str subclasses
    fields["user"] = fields.pop("user_id")
    fields["basename"] = fields["name"].rsplit("/", 1)[-1]
    view: ProjectView = msgspec.convert(fields, ProjectView, from_attributes=False)
    return view


def _placed(stmt: Select[Any], f: ProjectFilter) -> Select[Any]:
    """ClearML's search levels: shallow_search looks at one level (the children of `parent`,
    else the top level); otherwise `parent` means anywhere below those projects."""
    if f.shallow_search:
        if f.parent is None:
            return stmt.where(projects.c.parent.is_(None))
        return stmt.where(projects.c.parent.in_(f.parent))
    if f.parent is None:
        return stmt
    above = projects.alias("above")
    prefix = above.c.name + "/"
    return stmt.where(
        select(above.c.id)
        .where(
            above.c.id.in_(f.parent),
            above.c.company == projects.c.company,
            func.left(projects.c.name, func.length(prefix)) == prefix,
        )
        .exists()
    )


def get_by_id(conn: Connection, company: str, project_id: str) -> ProjectView:
    row = conn.execute(
        select(*_COLUMNS).where(projects.c.id == project_id, projects.c.company == company)
    ).fetchone()
    if row is None:
        raise ProjectNotFound(project_id)
    return _view(row)


def get_all(
    conn: Connection, company: str, f: ProjectFilter, window: tuple[int, int] | None = None
) -> list[ProjectView]:
    """One page of the projects the filter matches, by name (or `window`: start and size, for
    a scroll)."""
    if f.page < 0 or f.page_size < 1:
        raise BadFilter("page must be >= 0 and page_size >= 1")
    stmt = _matching(company, f)
    size = min(f.page_size, MAX_PAGE_SIZE)
    offset = min(f.page * size, 2**63 - 1)  # OFFSET is a bigint; past the end is empty
    if window is not None:
        offset, size = window[0], min(window[1], MAX_PAGE_SIZE)
    stmt = stmt.order_by(*_ordering(f.order_by), projects.c.name, projects.c.id)
    stmt = stmt.limit(size).offset(offset)
    with bad_name_pattern(conn, f.name):
        rows = conn.execute(stmt).fetchall()
    return [_view(r) for r in rows]


# What a project listing can be sorted by. ClearML also takes `featured`, the order of its
# example projects (every other project has the same default), which tasktrack has none of: it
# sorts nothing, and the keys after it decide; so does `@text_score` (a search's relevance).
_SORTABLE = {
    "name": projects.c.name,
    # A name's last part; the pages that sort by it list one level, where the whole name sorts
    # the same.
    "basename": projects.c.name,
    "created": projects.c.created,
    "last_update": projects.c.last_update,
    "user": projects.c.user_id,
    "id": projects.c.id,
}


def _ordering(order_by: list[str] | None) -> list[Any]:
    """The ORDER BY of `order_by`; missing values sort lowest, as ClearML's MongoDB sorts them
    (first ascending, last descending)."""
    keys: list[Any] = []
    for given in order_by or []:
        name = given.lstrip("-+")
        if name in ("featured", "@text_score"):  # no example projects; no text score here
            continue
        if name not in _SORTABLE:
            raise BadFilter(f"cannot order projects by {given!r}")
        column = _SORTABLE[name]
        desc = given.startswith("-")
        keys.append(column.desc().nulls_last() if desc else column.asc().nulls_first())
    return keys


def count(conn: Connection, company: str, f: ProjectFilter, limit: int | None) -> int:
    """How many projects the filter matches (at most `limit`), whatever its page."""
    with bad_name_pattern(conn, f.name):
        return count_matching(conn, _matching(company, f), limit)


def matching_ids(conn: Connection, company: str, f: ProjectFilter) -> list[str]:
    """The ids of every project the filter matches, whatever its page."""
    listing = _matching(company, f).with_only_columns(projects.c.id)
    with bad_name_pattern(conn, f.name):
        return list(conn.execute(listing.order_by(projects.c.id)).scalars())


def _matching(company: str, f: ProjectFilter) -> Select[Any]:
    """Every project the filter matches, in no order and unpaged."""
    check_values("id", f.id)
    check_pattern("name", f.name)
    stmt = select(*_COLUMNS).where(projects.c.company == company)
    if f.id is not None:
        stmt = stmt.where(projects.c.id.in_(f.id))
    if f.name is not None:
        stmt = stmt.where(projects.c.name.regexp_match(f.name))
    if f.basename is not None:
        check_pattern("basename", f.basename)
        stmt = stmt.where(func.regexp_replace(projects.c.name, "^.*/", "").regexp_match(f.basename))
    stmt = _placed(stmt, f)
    if f.tags is not None:
        stmt = stmt.where(array_condition(projects.c.tags, "tags", f.tags))
    if f.system_tags is not None:
        stmt = stmt.where(array_condition(projects.c.system_tags, "system_tags", f.system_tags))
    if not f.search_hidden and f.id is None:
        stmt = stmt.where(~projects.c.system_tags.contains(["hidden"]))
    return stmt
