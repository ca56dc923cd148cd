"""What the models of projects carry: their metadata keys and one key's distinct values
(projects.get_model_metadata_keys, get_model_metadata_values: the UI's model table filters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Connection, column, func, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from tasktrack.queries.project_contents import with_children
from tasktrack.store.tables import models


class MetadataKeys(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    remaining: int
    keys: list[str]


class MetadataValues(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    values: list[str]


def _scope(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    include_subprojects: bool,
    allow_public: bool,
) -> list[ColumnElement[bool]]:
    """The company's models (and public ones, if allowed) of these projects, as ClearML reads
    a project list: with include_subprojects, none given is every project and the given ones
    take their descendants along; without it, None is the top level (no project) and an empty
    list every project."""
    mine = models.c.company == company
    where: list[ColumnElement[bool]] = [
        or_(mine, models.c.public == true()) if allow_public else mine
    ]
    if include_subprojects:
        if project_ids:
            where.append(models.c.project.in_(with_children(conn, company, project_ids)))
    elif project_ids is None:
        where.append(models.c.project.is_(None))
    elif project_ids:
        where.append(models.c.project.in_(list(project_ids)))
    return where


# Past this page nothing can be found; a larger one would overflow OFFSET's bigint.
_LAST_PAGE = 2**40


def _page(page: int, page_size: int) -> tuple[int, int]:
    return min(max(0, page), _LAST_PAGE), max(1, min(page_size, 500))


def _entries() -> Any:
    """One row per metadata entry of a model ({key, type, value})."""
    entries = func.jsonb_array_elements(models.c.metadata)
    return entries.table_valued(column("value", JSONB)).alias("entry")


def metadata_keys(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    *,
    include_subprojects: bool = True,
    page: int = 0,
    page_size: int = 500,
) -> MetadataKeys:
    """The distinct metadata keys of the models, in byte order (as ClearML's MongoDB)."""
    page, page_size = _page(page, page_size)
    entry = _entries()
    key = entry.c.value["key"].astext
    where = [*_scope(conn, company, project_ids, include_subprojects, True), key.is_not(None)]
    total, keys = _distinct_page(conn, key, entry, where, page=page, page_size=page_size)
    return MetadataKeys(
        total=total, remaining=max(0, total - page * page_size - len(keys)), keys=keys
    )


def metadata_values(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    *,
    key: str,
    include_subprojects: bool = True,
    allow_public: bool = True,
    page: int = 0,
    page_size: int = 500,
) -> MetadataValues:
    """The distinct values of one metadata key among the models, in byte order."""
    entry = _entries()
    value = entry.c.value["value"].astext
    where = [
        *_scope(conn, company, project_ids, include_subprojects, allow_public),
        entry.c.value["key"].astext == key,
        value.is_not(None),
    ]
    total, values = _distinct_page(conn, value, entry, where, page=page, page_size=page_size)
    return MetadataValues(total=total, values=values)


def _distinct_page(
    conn: Connection,
    of: ColumnElement[str],
    entry: Any,
    where: list[ColumnElement[bool]],
    *,
    page: int,
    page_size: int,
) -> tuple[int, list[str]]:
    """How many distinct values of `of` the models' metadata entries hold, and one page of
    them in byte order (as ClearML's MongoDB sorts)."""
    page, page_size = _page(page, page_size)
    distinct = (
        select(of.label("v"))
        .select_from(models)
        .join(entry, literal_column("true"))
        .where(*where)
        .distinct()
        .subquery()
    )
    total = int(conn.execute(select(func.count()).select_from(distinct)).scalar_one())
    rows = conn.execute(
        select(distinct.c.v)
        .order_by(distinct.c.v.collate("C"))
        .offset(page * page_size)
        .limit(page_size)
    ).fetchall()
    return total, [r[0] for r in rows]
