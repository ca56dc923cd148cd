"""What the tasks of projects report and take: their hyperparameter names and one parameter's
distinct values (projects.get_hyper_parameters, get_hyperparam_values, as the SDK's optimizer
and the UI's filters ask), and their metric/variant pairs (get_unique_metric_variants)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg
from sqlalchemy import ColumnElement, Connection, func, literal_column, select
from sqlalchemy.exc import DataError

from tasktrack.domain.errors import BadFilter
from tasktrack.queries.filter_request import check_pattern
from tasktrack.queries.project_contents import with_children
from tasktrack.store.tables import task_metrics, tasks


class ParamNames(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    remaining: int
    parameters: list[dict[str, str]]


class ParamValues(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    values: list[str]


def _scope(
    conn: Connection, company: str, project_ids: Sequence[str] | None, include_subprojects: bool
) -> list[ColumnElement[bool]]:
    """ClearML's project constraint: the projects (with their sub projects); none (None)
    is every task with include_subprojects, else only the tasks of no project (the top
    level); an empty list is no constraint."""
    where: list[ColumnElement[bool]] = [tasks.c.company == company]
    if project_ids is None and not include_subprojects:
        where.append(tasks.c.project.is_(None))
    elif project_ids:
        ids = with_children(conn, company, project_ids) if include_subprojects else project_ids
        where.append(tasks.c.project.in_(list(ids)))
    return where


def _page(page: int, page_size: int) -> tuple[int, int]:
    return max(0, page), max(1, min(page_size, 500))


def hyper_parameters(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    *,
    include_subprojects: bool = True,
    page: int = 0,
    page_size: int = 500,
) -> ParamNames:
    """The distinct (section, name) of the tasks' hyperparameters, by section then name."""
    page, page_size = _page(page, page_size)
    sections = func.jsonb_each(tasks.c.hyperparams).table_valued("key", "value").alias("s")
    names = func.jsonb_object_keys(sections.c.value).table_valued("name").alias("n")
    pairs = (
        select(sections.c.key.label("section"), names.c.name.label("name"))
        .select_from(tasks)
        .join(sections, literal_column("true"))
        .join(names, literal_column("true"))
        .where(*_scope(conn, company, project_ids, include_subprojects))
        .where(func.jsonb_typeof(sections.c.value) == "object")
        .distinct()
        .subquery()
    )
    total = int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())
    rows = conn.execute(
        select(pairs.c.section, pairs.c.name)
        # ClearML sorts by the strings' bytes (MongoDB's binary order): so does "C".
        .order_by(pairs.c.section.collate("C"), pairs.c.name.collate("C"))
        .offset(page * page_size)
        .limit(page_size)
    ).fetchall()
    found = [{"section": s, "name": n} for s, n in rows]
    return ParamNames(
        total=total,
        remaining=max(0, total - page * page_size - len(found)),
        parameters=found,
    )


def hyperparam_values(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    *,
    section: str,
    name: str,
    include_subprojects: bool = True,
    pattern: str | None = None,
    page: int = 0,
    page_size: int = 500,
) -> ParamValues:
    """The distinct values of one hyperparameter among the tasks (a case-insensitive regex
    `pattern` keeps the values it finds), in order."""
    page, page_size = _page(page, page_size)
    value = tasks.c.hyperparams[section][name]["value"].astext
    stmt = (
        select(value.label("value"))
        .where(*_scope(conn, company, project_ids, include_subprojects))
        .where(value.is_not(None))
        .distinct()
    )
    if pattern:
        check_pattern("pattern", pattern)
        stmt = stmt.where(value.regexp_match(pattern, flags="i"))
    distinct = stmt.subquery()
    try:
        total = int(conn.execute(select(func.count()).select_from(distinct)).scalar_one())
        rows = conn.execute(
            select(distinct.c.value)
            .order_by(distinct.c.value.collate("C"))
            .offset(page * page_size)
            .limit(page_size)
        ).fetchall()
    except DataError as exc:
        if isinstance(exc.orig, psycopg.errors.InvalidRegularExpression):
            conn.rollback()
            raise BadFilter(f"invalid regular expression for pattern: {pattern!r}") from exc
        raise
    return ParamValues(total=total, values=[r[0] for r in rows])


def unique_metric_variants(
    conn: Connection,
    company: str,
    project_ids: Sequence[str] | None,
    *,
    task_ids: Sequence[str] | None = None,
    include_subprojects: bool = True,
) -> list[dict[str, Any]]:
    """The distinct (metric, variant) pairs the tasks report (those in `last_metrics`), with
    their hashes, by metric then variant."""
    where = _scope(conn, company, project_ids, include_subprojects)
    if task_ids:
        where.append(tasks.c.id.in_(list(task_ids)))
    m = task_metrics.c
    pairs = (
        select(m.metric, m.variant, m.metric_hash, m.variant_hash)
        .distinct()
        .where(m.company == company, m.task_id.in_(select(tasks.c.id).where(*where)))
        .subquery()
    )
    rows = conn.execute(
        select(pairs).order_by(pairs.c.metric.collate("C"), pairs.c.variant.collate("C"))
    ).fetchall()
    return [
        {"metric": r[0], "variant": r[1], "metric_hash": r[2], "variant_hash": r[3]} for r in rows
    ]
