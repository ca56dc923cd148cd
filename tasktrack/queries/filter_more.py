"""get_all's structured filters (ClearML's get_all_ex): the `filters` field, with any/all
include/exclude lists per list field, and `_any_`/`_all_`, one pattern or datetime condition
over several fields. Their types and parsing (pure); the SQL is in filters.py."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.limits import MAX_PATTERN_LENGTH
from tasktrack.queries.filter_language import DateTest, Interval, Operator, parse_dates

# Documents a `_any_`/`_all_` pattern may look into by a dotted path (`script.repository`).
DOCUMENTS = frozenset(
    {"execution", "script", "output", "container", "runtime", "hyperparams", "configuration"}
)
# The datetime fields `_any_`/`_all_` compare (ClearML's datetime_fields of a task).
DATETIME_FIELDS = ("status_changed", "last_update", "last_change")


class Values(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Values the field must hold (`include`) or must not (`exclude`); null means empty."""

    include: list[str | None] = []
    exclude: list[str | None] = []


class FieldFilter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One list field's `filters` entry: `any` (one include holds, or one exclude is missing),
    `all` (every include holds, no exclude does), joined by `op`. An unknown key is 400/12
    (ClearML's ValidationError), unlike the body's own keys: a misspelt condition would
    otherwise silently match everything."""

    any: Values | None = None
    all: Values | None = None
    op: Literal["and", "or"] = "and"


class MultiField(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`_any_`/`_all_`: a case-insensitive pattern, or a datetime condition, over `fields`."""

    fields: list[str] = []
    pattern: str | None = None
    datetime: str | list[str | None] | None = None


class MultiCondition(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed `_any_` (operator or) or `_all_` (and)."""

    operator: Operator
    fields: tuple[str, ...]
    pattern: str | None = None
    dates: Interval[datetime] | list[DateTest] | None = None


def list_filters(
    filters: dict[str, FieldFilter] | None, list_fields: frozenset[str]
) -> dict[str, FieldFilter]:
    """The entries of `filters` for list fields; others are unknown keys, ignored as every
    unknown key of a body (and as ClearML does)."""
    return {f: v for f, v in (filters or {}).items() if f in list_fields}


def check_pattern(field: str, pattern: str) -> None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidRequest(
            f"Validation error: {field}: at most {MAX_PATTERN_LENGTH} characters",
            field=field,
            limit=MAX_PATTERN_LENGTH,
        )


def parse_multi(operator: Operator, m: MultiField, texts: frozenset[str]) -> MultiCondition | None:
    """One `_any_`/`_all_`: exactly one of pattern and datetime (400/12); None when no field it
    names can take the condition (ClearML then drops it)."""
    if (m.pattern is None) == (m.datetime is None):
        raise InvalidRequest(
            "Validation error: exactly one of 'pattern' and 'datetime' should be provided"
        )
    if m.datetime is not None:
        fields = tuple(f for f in m.fields if f in DATETIME_FIELDS)
        if not fields:
            return None
        return MultiCondition(
            operator=operator, fields=fields, dates=parse_dates(fields[0], m.datetime)
        )
    searchable = tuple(f for f in m.fields if f in texts or f.split(".", 1)[0] in DOCUMENTS)
    if not searchable or not m.pattern:
        return None
    check_pattern("pattern", m.pattern)
    return MultiCondition(operator=operator, fields=searchable, pattern=m.pattern)
