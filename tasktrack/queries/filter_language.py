"""The get_all filter language, parsed (pure): list tokens, ranges, datetime conditions, order."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar

import msgspec

from tasktrack.domain.errors import BadFilter
from tasktrack.queries.param_keys import split_path

Operator = Literal["and", "or"]
Compare = Literal["==", ">", ">=", "<", "<="]
T = TypeVar("T")

OPERATOR_PREFIX = "__$"
NOT = "__$not"
NOP = "__$nop"
OPERATORS: dict[str, Operator] = {"__$any": "or", "__$or": "or", "__$all": "and", "__$and": "and"}
# When no operator token comes before the first value, the groups are joined by "and" (so
# `["a", "-b"]` is "a and not b"), as ClearML's server does.
DEFAULT_GLOBAL: Operator = "and"

METRIC_FIELDS = (
    "value",
    "min_value",
    "max_value",
    "first_value",
    "mean_value",
    "count",
    "min_value_iteration",
    "max_value_iteration",
    "first_value_iteration",
)
_MD5 = re.compile(r"[0-9a-f]{32}")
_COMPARE = re.compile(r"(>=|>|<=|<)?(.*)", re.DOTALL)
_COMPARES: dict[str, Compare] = {"": "==", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class ListFilter(msgspec.Struct, frozen=True, kw_only=True):
    """A list field's condition: the non-empty groups joined by `operator`, then OR `null`.

    any_of: the field holds one of these; all_of: it holds every one of these; none_of: it
    holds none of these; has_value: it is set and not empty (`__$not` before a null);
    or_missing: a missing or empty field matches too (a null value).
    """

    operator: Operator = DEFAULT_GLOBAL
    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    has_value: bool = False
    or_missing: bool = False

    @property
    def unconstrained(self) -> bool:
        """No value at all (an empty list, or tokens only): no condition, as in ClearML."""
        groups = (self.any_of, self.all_of, self.none_of)
        return not any(groups) and not self.has_value and not self.or_missing


class Interval(msgspec.Struct, Generic[T], frozen=True):
    """`[low, high]`, both inclusive; a missing low end also admits a missing field."""

    low: T | None
    high: T | None


class DateTest(msgspec.Struct, frozen=True):
    compare: Compare
    at: datetime


class MetricField(msgspec.Struct, frozen=True):
    """`last_metrics.<metric_hash>.<variant_hash>.<field>`."""

    metric_hash: str
    variant_hash: str
    field: str


class OrderKey(msgspec.Struct, frozen=True):
    field: str  # a task field, "last_metrics" with `metric` set, or a document with `path`
    descending: bool
    metric: MetricField | None = None
    path: tuple[str, ...] = ()  # inside a JSON document (hyperparams, execution, script, ...)


# Documents an order may reach into by a dotted path, as ClearML orders by any field.
ORDER_DOCUMENTS = frozenset(
    {"hyperparams", "execution", "script", "output", "container", "runtime", "configuration"}
)


def _document_key(name: str, descending: bool) -> OrderKey | None:
    """`hyperparams.<section>.<name>[.value]` orders by the parameter's value (ClearML
    accepts both spellings); any other `<document>.<path>` by the JSON value there."""
    root, *keys = split_path(name)
    if root not in ORDER_DOCUMENTS or not keys:
        return None
    path = tuple(keys)
    if root == "hyperparams" and len(path) == 2:
        path = (*path, "value")
    return OrderKey(root, descending, path=path)


def parse_list(field: str, value: str | Sequence[str | None] | None) -> ListFilter:
    """The token language of a list field (SEMANTICS §5); bad tokens are 400/16."""
    values: Sequence[str | None] = [value] if value is None or isinstance(value, str) else value
    groups: dict[str, set[str]] = {"any": set(), "all": set(), "none": set()}
    global_op: Operator | None = None
    context: Operator = "or"
    dash_excludes = True
    negate_next = False
    has_value = or_missing = False
    for v in values:
        if negate_next:
            negate_next = False
            if v is not None and v.startswith(OPERATOR_PREFIX):
                raise BadFilter(f"{field}: a value is expected after {NOT}, got {v!r}", field=field)
            if v is None:
                has_value = True
            else:
                groups["none"].add(v)
        elif v is None:
            or_missing = True
        elif v == NOT:
            negate_next = True
            continue
        elif v == NOP:
            context, dash_excludes = "or", True
        elif v.startswith(OPERATOR_PREFIX):
            operator = OPERATORS.get(v)
            if operator is None:
                raise BadFilter(f"{field}: unsupported operator {v!r}", field=field, operator=v)
            context, dash_excludes = operator, False
            global_op = global_op or operator
            continue
        elif dash_excludes and v.startswith("-"):
            if v == "-":
                raise BadFilter(f"{field}: a value is expected after the prefix '-'", field=field)
            groups["none"].add(v[1:])
        else:
            groups["any" if context == "or" else "all"].add(v)
        global_op = global_op or DEFAULT_GLOBAL
    if negate_next:
        raise BadFilter(f"{field}: a value is expected after {NOT}", field=field)
    return ListFilter(
        operator=global_op or DEFAULT_GLOBAL,
        any_of=tuple(sorted(groups["any"])),
        all_of=tuple(sorted(groups["all"])),
        none_of=tuple(sorted(groups["none"])),
        has_value=has_value,
        or_missing=or_missing,
    )


def parse_time(field: str, text: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadFilter(f"{field}: not an ISO 8601 time: {text!r}", field=field) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def parse_number(field: str, value: int | float | str) -> int | float:
    """A finite number; a numeric string counts (ClearML converts them too)."""
    number: int | float
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise BadFilter(f"{field}: not a number: {value!r}", field=field) from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise BadFilter(f"{field}: a range bound must be a finite number", field=field)
    return number


def _interval(field: str, low: T | None, high: T | None) -> Interval[T]:
    if low is None and high is None:
        raise BadFilter(f"{field}: a range needs a min or a max (not both null)", field=field)
    return Interval(low, high)


def parse_date_range(field: str, pair: tuple[str | None, str | None]) -> Interval[datetime]:
    low, high = (None if v is None else parse_time(field, v) for v in pair)
    return _interval(field, low, high)


def parse_number_range(
    field: str, pair: tuple[int | float | str | None, int | float | str | None]
) -> Interval[int | float]:
    low, high = (None if v is None else parse_number(field, v) for v in pair)
    return _interval(field, low, high)


def parse_dates(
    field: str, value: str | Sequence[str | None]
) -> Interval[datetime] | list[DateTest]:
    """A datetime field: a pair without prefixes is a range; else every condition must hold."""
    values: Sequence[str | None] = [value] if isinstance(value, str) else value
    if len(values) == 2 and not any(v is not None and v.startswith(("<", ">")) for v in values):
        return parse_date_range(field, (values[0], values[1]))
    tests = []
    for v in values:
        if v is None:
            raise BadFilter(f"{field}: null is only allowed in a [min, max] pair", field=field)
        match = _COMPARE.fullmatch(v)
        assert match is not None  # the pattern matches every string
        tests.append(DateTest(_COMPARES[match.group(1) or ""], parse_time(field, match.group(2))))
    return tests


def parse_metric_path(path: str) -> MetricField:
    """`<metric_hash>.<variant_hash>.<field>` (after `last_metrics.`), hashes as md5 hex."""
    parts = path.split(".")
    if len(parts) != 3 or not all(_MD5.fullmatch(p) for p in parts[:2]):
        raise BadFilter(
            f"last_metrics.{path}: expected last_metrics.<md5 of metric>.<md5 of variant>.<field>",
            field=f"last_metrics.{path}",
        )
    if parts[2] not in METRIC_FIELDS:
        raise BadFilter(
            f"last_metrics.{path}: {parts[2]!r} is not one of {', '.join(METRIC_FIELDS)}",
            field=f"last_metrics.{path}",
        )
    return MetricField(parts[0], parts[1], parts[2])


def parse_order(
    keys: Sequence[str], orderable: frozenset[str], search_text: bool
) -> list[OrderKey]:
    """order_by keys (`-` = descending), with id appended unless already there."""
    order: list[OrderKey] = []
    for key in keys:
        name = key.removeprefix("-")
        descending = key.startswith("-")
        if name == "@text_score" and search_text:
            continue  # search_text is a substring match here: there is no score to order by
        if name.startswith("last_metrics."):
            metric = parse_metric_path(name.removeprefix("last_metrics."))
            order.append(OrderKey("last_metrics", descending, metric))
        elif name in orderable:
            order.append(OrderKey(name, descending))
        elif (document := _document_key(name, descending)) is not None:
            order.append(document)
        else:
            raise BadFilter(f"cannot order by {name!r}", field="order_by", value=key)
    if not any(k.field == "id" for k in order):
        order.append(OrderKey("id", False))
    return order
