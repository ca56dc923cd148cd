"""The tasks.get_all request: typed (from a body or kwargs), then checked and parsed (`plan`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.domain.limits import (
    MAX_FILTER_VALUES,
    MAX_METRIC_PAIRS_IN_FILTER,
    MAX_ORDER_KEYS,
    MAX_PATTERN_LENGTH,
)
from tasktrack.queries.filter_language import (
    DateTest,
    Interval,
    ListFilter,
    MetricField,
    OrderKey,
    parse_date_range,
    parse_dates,
    parse_list,
    parse_metric_path,
    parse_number_range,
    parse_order,
)
from tasktrack.queries.filter_more import (
    FieldFilter,
    MultiCondition,
    MultiField,
    list_filters,
    parse_multi,
)

MAX_PAGE_SIZE = 500
METRIC_PREFIX = "last_metrics."

# A list field: one value or a list of values and `__$` tokens; null matches missing/empty.
# Absent (UNSET) is no filter.
ListValue = str | list[str | None] | None | UnsetType
# `[min, max]`, both inclusive, either end null (not both).
DateRange = tuple[str | None, str | None]
Number = int | float | str  # a numeric string is read as a number, as ClearML does
NumberRange = tuple[Number | None, Number | None]
# A datetime condition: "[>|>=|<|<=]<ISO time>", several of them (all must hold), or a pair.
DateCondition = str | list[str | None]

_METRICS_DOC = (
    "Sent as top-level keys `last_metrics.<md5(metric)>.<md5(variant)>.<field>: [min, max]` "
    "(field: value, min_value, max_value, first_value, mean_value, count or an *_iteration)."
)


class GetAllRequest(msgspec.Struct, frozen=True, kw_only=True):
    """tasks.get_all: filters, order and paging (absent or null filters do not filter, except
    that a null list field means "missing or empty")."""

    id: ListValue = UNSET
    user: ListValue = UNSET
    tags: ListValue = UNSET
    system_tags: ListValue = UNSET
    type: ListValue = UNSET
    status: ListValue = UNSET
    project: ListValue = UNSET
    parent: ListValue = UNSET
    execution_queue: ListValue = msgspec.field(default=UNSET, name="execution.queue")
    created: DateRange | None = None
    started: DateRange | None = None
    active_duration: NumberRange | None = None
    last_iteration: NumberRange | None = None
    last_metrics: Annotated[dict[str, NumberRange], msgspec.Meta(description=_METRICS_DOC)] = {}
    status_changed: DateCondition | None = None
    last_update: DateCondition | None = None
    last_change: DateCondition | None = None
    name: str | None = None
    comment: str | None = None
    search_text: str | None = None
    order_by: str | list[str] | None = []  # null: no order (by id), as ClearML
    page: int = 0
    page_size: int = MAX_PAGE_SIZE
    search_hidden: bool = False
    # `project` also means every project below the ones named (queries/tasks.py expands it).
    include_subprojects: bool = False
    # ClearML's structured filters (queries/filter_more.py)
    filters: dict[str, FieldFilter] | None = None
    any_: MultiField | None = msgspec.field(default=None, name="_any_")
    all_: MultiField | None = msgspec.field(default=None, name="_all_")


R = TypeVar("R", bound=GetAllRequest)


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and "\x00" in value:
        raise InvalidRequest("Validation error: strings may not contain NUL (\\u0000) characters")
    return value


def _plain(value: Any) -> Any:
    """Python datetimes (the Python API may pass them) as the ISO strings a body carries;
    NUL characters refused as the HTTP layer does (PostgreSQL text cannot hold them).

    Filters are a value or a flat list: anything nested deeper is left for the type check to
    refuse (it is not walked, so no nesting can exhaust the stack here)."""
    if isinstance(value, list | tuple):
        return [_scalar(v) for v in value]
    return _scalar(value)


def request_from(raw: Mapping[str, Any], kind: type[R]) -> R:
    """The request from a decoded body or keyword arguments; a mistyped field is 400/12.

    `last_metrics.<mh>.<vh>.<field>` keys are gathered into `last_metrics` (a key named
    `last_metrics` itself is unknown, hence ignored, as every unknown key).
    """
    fields: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(METRIC_PREFIX):
            if value is not None:  # ClearML drops null-valued parameters
                metrics[key.removeprefix(METRIC_PREFIX)] = _plain(value)
        elif key != "last_metrics":
            fields[key] = _plain(value)
    fields["last_metrics"] = metrics
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"Validation error: {exc}") from exc


# --- the whole request -----------------------------------------------------------------------

# list field -> its attribute on the request
LIST_FIELDS = {
    "id": "id",
    "user": "user",
    "tags": "tags",
    "system_tags": "system_tags",
    "type": "type",
    "status": "status",
    "project": "project",
    "parent": "parent",
    "execution.queue": "execution_queue",
}
DATE_RANGE_FIELDS = ("created", "started")
NUMBER_RANGE_FIELDS = ("active_duration", "last_iteration")
DATE_FIELDS = ("status_changed", "last_update", "last_change")
PATTERN_FIELDS = ("name", "comment")
# Fields an `_any_`/`_all_` pattern matches as text.
TEXT_FIELDS = frozenset({*LIST_FIELDS, *PATTERN_FIELDS, "report"}) - {"tags", "system_tags"}
ORDERABLE = frozenset(
    {
        *(f for f in LIST_FIELDS),
        *DATE_RANGE_FIELDS,
        *NUMBER_RANGE_FIELDS,
        *DATE_FIELDS,
        *PATTERN_FIELDS,
        "completed",
        "published",
        "status_message",
        "status_reason",
        "last_worker",
        "last_worker_report",
        "last_changed_by",
    }
)


class TaskFilter(msgspec.Struct, frozen=True, kw_only=True):
    """A get_all request, checked and parsed: what the SQL is built from."""

    lists: dict[str, ListFilter] = {}
    date_ranges: dict[str, Interval[datetime]] = {}
    number_ranges: dict[str, Interval[int | float]] = {}
    metric_ranges: list[tuple[MetricField, Interval[int | float]]] = []
    dates: dict[str, Interval[datetime] | list[DateTest]] = {}
    patterns: dict[str, str] = {}
    search_text: str | None = None
    order: list[OrderKey] = []
    field_filters: dict[str, FieldFilter] = {}
    multi: list[MultiCondition] = []
    include_hidden: bool = False
    limit: int = MAX_PAGE_SIZE
    offset: int = 0


def check_values(field: str, values: object) -> None:
    """At most MAX_FILTER_VALUES values in one list filter (400/16)."""
    if isinstance(values, list) and len(values) > MAX_FILTER_VALUES:
        raise BadFilter(
            f"{field}: at most {MAX_FILTER_VALUES} values in one filter, got {len(values)}",
            field=field,
            limit=MAX_FILTER_VALUES,
        )


def check_expanded(values: Sequence[str | None]) -> None:
    """A project filter with its sub projects added (include_subprojects) stays within
    MAX_FILTER_VALUES too: 400/16, never a list cut short."""
    if len(values) > MAX_FILTER_VALUES:
        raise BadFilter(
            f"project: include_subprojects reaches {len(values)} projects, at most "
            f"{MAX_FILTER_VALUES} in one filter (name fewer projects)",
            field="project",
            limit=MAX_FILTER_VALUES,
        )


def check_pattern(field: str, pattern: str | None) -> None:
    """A regular expression or search text of at most MAX_PATTERN_LENGTH characters (400/16)."""
    if pattern is not None and len(pattern) > MAX_PATTERN_LENGTH:
        raise BadFilter(
            f"{field}: at most {MAX_PATTERN_LENGTH} characters, got {len(pattern)}",
            field=field,
            limit=MAX_PATTERN_LENGTH,
        )


def _check_sizes(r: GetAllRequest, order_keys: list[str]) -> None:
    for field, attr in LIST_FIELDS.items():
        check_values(field, getattr(r, attr))
    for field in (*PATTERN_FIELDS, "search_text"):
        check_pattern(field, getattr(r, field))
    if len(order_keys) > MAX_ORDER_KEYS:
        raise BadFilter(
            f"order_by: at most {MAX_ORDER_KEYS} keys, got {len(order_keys)}",
            field="order_by",
            limit=MAX_ORDER_KEYS,
        )


def _check_metric_pairs(ranges: list[tuple[MetricField, Any]], order: list[OrderKey]) -> None:
    """Each distinct (metric, variant) named costs a join: at most MAX_METRIC_PAIRS_IN_FILTER."""
    named = [m for m, _ in ranges] + [k.metric for k in order if k.metric is not None]
    pairs = {(m.metric_hash, m.variant_hash) for m in named}
    if len(pairs) > MAX_METRIC_PAIRS_IN_FILTER:
        raise BadFilter(
            f"last_metrics: at most {MAX_METRIC_PAIRS_IN_FILTER} (metric, variant) pairs in "
            f"filters and order_by, got {len(pairs)}",
            field="last_metrics",
            limit=MAX_METRIC_PAIRS_IN_FILTER,
        )


def plan(r: GetAllRequest, window: tuple[int, int] | None = None) -> TaskFilter:
    """Check and parse every filter of the request (400/16 for a bad one). `window` (start,
    size) replaces page and page_size: where a scroll goes on from (get_all_ex's scroll_id)."""
    if r.page < 0 or r.page_size < 1:
        raise BadFilter("page must be >= 0 and page_size >= 1", page=r.page, page_size=r.page_size)
    keys = [r.order_by] if isinstance(r.order_by, str) else (r.order_by or [])
    _check_sizes(r, keys)
    field_filters = list_filters(r.filters, frozenset(LIST_FIELDS))
    for field, entry in field_filters.items():
        for values in (entry.any, entry.all):
            if values is not None:
                check_values(field, values.include + values.exclude)
    lists = {}
    for field, attr in LIST_FIELDS.items():
        value = getattr(r, attr)
        # A field given in `filters` is filtered there only (as ClearML, which pops it).
        if value is not UNSET and field not in field_filters:
            parsed = parse_list(field, value)
            if not parsed.unconstrained:
                lists[field] = parsed
    date_ranges = {
        f: parse_date_range(f, pair)
        for f in DATE_RANGE_FIELDS
        if (pair := getattr(r, f)) is not None
    }
    number_ranges = {
        f: parse_number_range(f, pair)
        for f in NUMBER_RANGE_FIELDS
        if (pair := getattr(r, f)) is not None
    }
    metric_ranges = [
        (parse_metric_path(path), parse_number_range(f"last_metrics.{path}", pair))
        for path, pair in sorted(r.last_metrics.items())
    ]
    dates = {f: parse_dates(f, v) for f in DATE_FIELDS if (v := getattr(r, f)) is not None}
    patterns = {f: v for f in PATTERN_FIELDS if (v := getattr(r, f))}
    search_text = (r.search_text or "").strip() or None
    order = parse_order(keys, ORDERABLE, search_text is not None)
    _check_metric_pairs(metric_ranges, order)
    multi = [
        m
        for m in (
            None if r.any_ is None else parse_multi("or", r.any_, TEXT_FIELDS),
            None if r.all_ is None else parse_multi("and", r.all_, TEXT_FIELDS),
        )
        if m is not None
    ]
    size = min(r.page_size, MAX_PAGE_SIZE)
    offset = min(r.page * size, 2**63 - 1)
    if window is not None:
        offset, size = min(window[0], 2**63 - 1), min(window[1], MAX_PAGE_SIZE)
    return TaskFilter(
        lists=lists,
        date_ranges=date_ranges,
        number_ranges=number_ranges,
        metric_ranges=metric_ranges,
        dates=dates,
        patterns=patterns,
        search_text=search_text,
        order=order,
        field_filters=field_filters,
        multi=multi,
        # ClearML: hidden tasks are searched when asked to, or when ids are given.
        include_hidden=r.search_hidden or bool(r.id),
        limit=size,
        offset=offset,
    )
