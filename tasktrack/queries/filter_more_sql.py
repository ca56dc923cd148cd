"""The structured filters of get_all (queries/filter_more.py) as SQL, and ordering by a path
inside a task's JSON documents (`hyperparams.<section>.<name>.value`, `execution.<key>`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Numeric, Text, and_, case, cast, false, func, literal, not_, or_, true
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from tasktrack.queries.filter_language import OrderKey
from tasktrack.queries.filter_more import FieldFilter, Values
from tasktrack.queries.param_keys import split_path
from tasktrack.queries.task_columns import ARRAYS, COLUMNS, TEXTS, Condition
from tasktrack.store.tables import tasks

# A number as ClearML's numeric collation reads one; bounded so the cast cannot overflow.
_NUMBER = r"^\s*[-+]?[0-9]{1,100}(\.[0-9]{1,100})?\s*$"


def _path(root: str, path: tuple[str, ...], as_text: bool) -> ColumnElement[Any]:
    """The value at `path` in the task's `root` document (the path is a bound value)."""
    where = literal(list(path), ARRAY(Text))
    if as_text:
        return tasks.c[root].op("#>>", return_type=Text)(where)
    return tasks.c[root].op("#>", return_type=JSONB)(where)


def text_of(name: str) -> ColumnElement[Any]:
    """A field as text for a pattern: a column, or a dotted path into a document."""
    if name in TEXTS:
        return COLUMNS[name]
    root, *path = split_path(name)
    return _path(root, tuple(path), as_text=True)


def _empty(field: str, col: ColumnElement[Any]) -> Condition:
    if field in ARRAYS:
        return func.coalesce(func.cardinality(col), 0) == 0
    return or_(col.is_(None), col == "")


def _holds_any(field: str, col: ColumnElement[Any], values: list[str]) -> Condition:
    return col.overlap(values) if field in ARRAYS else col.in_(values)


def _holds_all(field: str, col: ColumnElement[Any], values: list[str]) -> Condition:
    if field in ARRAYS:
        return col.contains(values)
    return and_(*(col == v for v in values))  # a single value holds all only of equal ones


def _part(field: str, values: Values, any_of: bool) -> list[Condition]:
    """ClearML's mapping: any = include `in`, exclude `not all`; all = include `all`,
    exclude `nin`; a null stands for "empty" (include) or "not empty" (exclude)."""
    col = COLUMNS[field]
    include = sorted({v for v in values.include if v is not None})
    exclude = sorted({v for v in values.exclude if v is not None})
    parts: list[Condition] = []
    if include:
        parts.append((_holds_any if any_of else _holds_all)(field, col, include))
    if None in values.include:
        parts.append(_empty(field, col))
    if exclude:
        held = _holds_all(field, col, exclude) if any_of else _holds_any(field, col, exclude)
        parts.append(or_(col.is_(None), not_(held)))
    if None in values.exclude:
        parts.append(not_(_empty(field, col)))
    return parts


def field_filter(field: str, f: FieldFilter) -> Condition:
    """`any` (its parts or-ed) and `all` (and-ed), joined by `op`."""
    joined: list[Condition] = []
    if f.any is not None and (parts := _part(field, f.any, any_of=True)):
        joined.append(or_(false(), *parts))
    if f.all is not None and (parts := _part(field, f.all, any_of=False)):
        joined.append(and_(true(), *parts))
    if not joined:
        return true()
    return and_(*joined) if f.op == "and" else or_(*joined)


def document_order(key: OrderKey, first: bool) -> list[UnaryExpression[Any]]:
    """ORDER BY a document path. A hyperparameter value orders as ClearML's numeric collation
    does for numbers (`2` before `11`): numbers by value before other text (after it when
    descending); elsewhere the JSON values order as PostgreSQL orders jsonb. Missing values
    follow the rule of every other field: last for the first key ascending or any key
    descending, else first."""
    if key.field != "hyperparams":
        value = _path(key.field, key.path, as_text=False)
        if key.descending:
            return [value.desc().nulls_last()]
        return [value.asc().nulls_last() if first else value.asc().nulls_first()]
    text = _path(key.field, key.path, as_text=True)
    is_number = text.regexp_match(_NUMBER)
    missing = case((text.is_(None), 1), else_=0)
    kind = case((is_number, 0), else_=1)
    number = case((is_number, cast(text, Numeric())), else_=None)
    if key.descending:
        return [missing.asc(), kind.desc(), number.desc(), text.desc()]
    return [missing.asc() if first else missing.desc(), kind.asc(), number.asc(), text.asc()]
