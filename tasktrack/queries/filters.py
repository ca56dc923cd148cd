"""get_all's filters as SQL: a checked TaskFilter becomes Core conditions, joins and ORDER BY."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import UnaryExpression

from tasktrack.queries import filter_more_sql
from tasktrack.queries.filter_language import (
    DateTest,
    Interval,
    ListFilter,
    MetricField,
    OrderKey,
    parse_list,
)
from tasktrack.queries.filter_more import MultiCondition
from tasktrack.queries.filter_request import TaskFilter
from tasktrack.queries.task_columns import (
    ARRAYS,
    COLUMNS,
    NEVER_MISSING,
    TEXTS,
    Condition,
)
from tasktrack.store.tables import task_metrics, tasks

__all__ = ["ARRAYS", "COLUMNS", "NEVER_MISSING", "TEXTS", "Condition", "select_tasks"]
_INT8 = (-(2**63), 2**63 - 1)
_NON_FINITE: list[ColumnElement[Any]] = [
    literal_column(f"'{v}'::float8") for v in ("NaN", "Infinity", "-Infinity")
]
_COMPARE = {
    "==": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

# --- list fields -----------------------------------------------------------------------------


def _scalar_groups(col: ColumnElement[Any], f: ListFilter) -> tuple[list[Condition], Condition]:
    groups: list[Condition] = []
    if f.any_of:
        groups.append(col.in_(f.any_of))
    if f.all_of:  # a single value "holds all of" only values equal to it
        groups.append(and_(*(col == v for v in f.all_of)))
    if f.none_of:  # a missing value holds none of them
        groups.append(or_(col.is_(None), col.not_in(f.none_of)))
    if f.has_value:
        groups.append(and_(col.is_not(None), col != ""))
    return groups, or_(col.is_(None), col == "")


def _array_groups(col: ColumnElement[Any], f: ListFilter) -> tuple[list[Condition], Condition]:
    groups: list[Condition] = []
    if f.any_of:
        groups.append(col.overlap(list(f.any_of)))
    if f.all_of:
        groups.append(col.contains(list(f.all_of)))
    if f.none_of:
        groups.append(not_(col.overlap(list(f.none_of))))
    if f.has_value:
        groups.append(func.cardinality(col) > 0)
    return groups, func.coalesce(func.cardinality(col), 0) == 0


def list_condition(field: str, f: ListFilter) -> Condition:
    """The groups joined by the global operator, then OR "missing or empty" for a null."""
    col = COLUMNS[field]
    return _joined(f, *(_array_groups if field in ARRAYS else _scalar_groups)(col, f))


def _joined(f: ListFilter, groups: list[Condition], missing: Condition) -> Condition:
    joined: Condition | None = None
    if groups:
        joined = and_(*groups) if f.operator == "and" else or_(*groups)
    if f.or_missing:
        joined = missing if joined is None else or_(joined, missing)
    return true() if joined is None else joined


# --- ranges and datetimes --------------------------------------------------------------------


def _int_interval(i: Interval[int | float]) -> Interval[int] | None:
    """The same interval over integers (ceil the low end, floor the high one), clamped to
    bigint; None when no bigint can be in it."""
    low = None if i.low is None else max(math.ceil(i.low), _INT8[0])
    high = None if i.high is None else min(math.floor(i.high), _INT8[1])
    if (low is not None and low > _INT8[1]) or (high is not None and high < _INT8[0]):
        return None
    return Interval(low, high)


def range_condition(col: ColumnElement[Any], i: Interval[Any], integer: bool = False) -> Condition:
    """low <= col <= high; with no low end, a missing value passes too."""
    if integer:
        clamped = _int_interval(i)
        if clamped is None:
            return false()
        i = clamped
    parts: list[Condition] = []
    if i.low is not None:
        parts.append(col >= i.low)
    if i.high is not None:
        parts.append(col <= i.high)
    inside = and_(*parts)
    return or_(inside, col.is_(None)) if i.low is None else inside


def _double(bound: int | float | None) -> float | None:
    """A bound as a double; an integer beyond the doubles' range becomes an infinity, which
    compares as that integer would with every finite double."""
    if bound is None or isinstance(bound, float):
        return bound
    try:
        return float(bound)
    except OverflowError:
        return math.inf if bound > 0 else -math.inf


def metric_condition(col: ColumnElement[Any], i: Interval[int | float]) -> Condition:
    """A range on a last_metrics field, where a non-finite value counts as missing.

    Written with plain (strict) comparisons, not the CASE of `finite_or_null`, so that with a
    low end PostgreSQL sees the LEFT JOIN can be an inner one and may start from task_metrics.
    """
    if isinstance(col.type, BigInteger):
        return range_condition(col, i, integer=True)
    doubles = Interval(_double(i.low), _double(i.high))
    finite = col.not_in(_NON_FINITE)
    inside = and_(finite, range_condition(col, doubles))
    return or_(inside, col.is_(None), col.in_(_NON_FINITE)) if i.low is None else inside


def date_condition(col: ColumnElement[Any], f: Interval[datetime] | list[DateTest]) -> Condition:
    if isinstance(f, Interval):
        return range_condition(col, f)
    return and_(true(), *(_COMPARE[t.compare](col, t.at) for t in f))


# --- last_metrics ----------------------------------------------------------------------------


class MetricJoins:
    """One LEFT JOIN of task_metrics per (metric, variant) the request names."""

    def __init__(self, company: str) -> None:
        self.company = company
        self.aliases: dict[tuple[str, str], FromClause] = {}

    def column(self, m: MetricField) -> ColumnElement[Any]:
        """The field of the task's aggregate (null when the task never reported the pair)."""
        key = (m.metric_hash, m.variant_hash)
        if key not in self.aliases:
            self.aliases[key] = task_metrics.alias(f"m{len(self.aliases)}")
        return self.aliases[key].c[m.field]

    def from_clause(self) -> FromClause:
        joined: FromClause = tasks
        for (metric_hash, variant_hash), m in self.aliases.items():
            on = and_(
                m.c.task_id == tasks.c.id,
                m.c.company == self.company,
                m.c.metric_hash == metric_hash,
                m.c.variant_hash == variant_hash,
            )
            joined = joined.outerjoin(m, on)
        return joined


# --- the statement ---------------------------------------------------------------------------


def conditions(f: TaskFilter, joins: MetricJoins) -> list[Condition]:
    where = [list_condition(field, lf) for field, lf in f.lists.items()]
    where += [range_condition(COLUMNS[name], i) for name, i in f.date_ranges.items()]
    where += [
        range_condition(COLUMNS[name], i, integer=True) for name, i in f.number_ranges.items()
    ]
    where += [metric_condition(joins.column(m), interval) for m, interval in f.metric_ranges]
    where += [date_condition(COLUMNS[name], d) for name, d in f.dates.items()]
    where += [COLUMNS[name].regexp_match(pattern) for name, pattern in f.patterns.items()]
    if f.search_text is not None:
        text = f.search_text
        where.append(
            or_(*(COLUMNS[n].icontains(text, autoescape=True) for n in ("name", "id", "comment")))
        )
    where += [filter_more_sql.field_filter(field, ff) for field, ff in f.field_filters.items()]
    where += [_multi_condition(m) for m in f.multi]
    if not f.include_hidden:
        where.append(not_(tasks.c.system_tags.contains(["hidden"])))
    return where


def _multi_condition(m: MultiCondition) -> Condition:
    """`_any_` (or) / `_all_` (and): the pattern (case-insensitive) or the datetime condition
    on each field. A datetime field the task does not have fails the condition."""
    if m.dates is not None:
        parts = [date_condition(COLUMNS[name], m.dates) for name in m.fields]
    else:
        pattern = m.pattern or ""
        parts = [filter_more_sql.text_of(name).regexp_match(pattern, "i") for name in m.fields]
    return or_(*parts) if m.operator == "or" else and_(*parts)


def finite_or_null(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """For ordering: non-finite values (answered as null by the API) count as missing."""
    if isinstance(col.type, BigInteger):
        return col
    return case((col.in_(_NON_FINITE), null()), else_=col)


def _missing_as_null(name: str, col: ColumnElement[Any]) -> ColumnElement[Any]:
    """For ordering: an empty string or list counts as missing, as ClearML's first key does."""
    if name in ARRAYS:
        return case((func.cardinality(col) == 0, null()), else_=col)
    if name in TEXTS:
        return func.nullif(col, "")
    return col


def order_by(order: Sequence[OrderKey], joins: MetricJoins) -> list[UnaryExpression[Any]]:
    """Missing values sort as the smallest (as in ClearML), except that for the first key,
    when ascending, they go last."""
    clauses = []
    for position, key in enumerate(order):
        if key.path:
            clauses += filter_more_sql.document_order(key, first=position == 0)
            continue
        if key.metric is not None:
            col = finite_or_null(joins.column(key.metric))
        else:
            col = COLUMNS[key.field]
        if key.field in NEVER_MISSING:  # PostgreSQL's default order, which plain indexes have
            clauses.append(col.desc() if key.descending else col.asc())
        elif key.descending:
            clauses.append(col.desc().nulls_last())
        elif position == 0:
            clauses.append(_missing_as_null(key.field, col).asc().nulls_last())
        else:
            clauses.append(col.asc().nulls_first())
    return clauses


def select_tasks(columns: Sequence[ColumnElement[Any]], company: str, f: TaskFilter) -> Select[Any]:
    """The page of the company's tasks the filter asks for."""
    joins = MetricJoins(company)
    where = [tasks.c.company == company, *conditions(f, joins)]
    order = order_by(f.order, joins)
    return (
        select(*columns)
        .select_from(joins.from_clause())
        .where(*where)
        .order_by(*order)
        .limit(f.limit)
        .offset(f.offset)
    )


def array_condition(
    col: ColumnElement[Any], field: str, value: str | Sequence[str | None] | None
) -> Condition:
    """A tag list filter (the language of SEMANTICS §5) on any array column: projects' tags,
    or tasks' in a projects.* query."""
    f = parse_list(field, value)
    return _joined(f, *_array_groups(col, f))
