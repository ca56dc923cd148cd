"""A hand-written corpus of hostile requests (docs/reliability.md, Fuzzing).

Wrong types, huge strings and arrays, deep nesting, invalid UTF-8, NaN and Infinity literals,
SQL and regular-expression metacharacters, out-of-range numbers, NUL characters, broken
headers. `@TASK@` in a body stands for a task of the caller's. `expect` is the (code, subcode)
when the answer is certain; every entry must at least get a valid envelope and no 5xx.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from tasktrack.domain.limits import MAX_KEY_LENGTH

TASK = "@TASK@"
SCALAR = "training_stats_scalar"
BAD_REQUEST = (400, 12)
BAD_FILTER = (400, 16)
NO_EVENTS = (400, 131)
OK = (200, 0)
LONG = "k" * (MAX_KEY_LENGTH + 1)
METRIC_KEY = "last_metrics." + "a" * 32 + "." + "b" * 32 + ".value"


class Hostile(NamedTuple):
    name: str
    endpoint: str
    body: bytes
    expect: tuple[int, int] | None = None
    headers: dict[str, str] = {}
    method: str = "POST"


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


def nest(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


def _wrong_types() -> list[Hostile]:
    return [
        Hostile("name-int", "tasks.create", j({"name": 5, "type": "training"}), BAD_REQUEST),
        Hostile("type-list", "tasks.create", j({"name": "abc", "type": ["x"]}), BAD_REQUEST),
        Hostile("tags-object", "tasks.create", j({"name": "abc", "type": "qc", "tags": {}})),
        Hostile("task-int", "tasks.get_by_id", j({"task": 12}), BAD_REQUEST),
        Hostile("task-null", "tasks.started", j({"task": None}), BAD_REQUEST),
        Hostile("force-string", "tasks.stopped", j({"task": TASK, "force": "yes"}), BAD_REQUEST),
        Hostile("ids-string", "tasks.archive_many", j({"ids": TASK}), BAD_REQUEST),
        Hostile("page-string", "tasks.get_all", j({"page": "1"}), BAD_REQUEST),
        Hostile("page-float", "tasks.get_all", j({"page": 1.5}), BAD_REQUEST),
        Hostile("order-object", "tasks.get_all", j({"order_by": {"a": 1}}), BAD_REQUEST),
        Hostile("range-3", "tasks.get_all", j({"last_iteration": [1, 2, 3]}), BAD_REQUEST),
        Hostile("as-of-float", "tasks.get_by_id", j({"task": TASK, "as_of": 1.5}), BAD_REQUEST),
        Hostile("as-of-list", "tasks.get_by_id", j({"task": TASK, "as_of": [1]}), BAD_REQUEST),
        Hostile("hyper-list", "tasks.edit", j({"task": TASK, "hyperparams": []}), BAD_REQUEST),
        Hostile("analytics-date", "analytics.status_intervals", j({"since": 5}), BAD_REQUEST),
        Hostile("analytics-enum", "analytics.status_summary", j({"group_by": "x"}), BAD_REQUEST),
        Hostile("body-array", "tasks.create", b"[1, 2]", BAD_REQUEST),
        Hostile("body-null", "tasks.get_all", b"null", BAD_REQUEST),
        Hostile("body-string", "tasks.get_by_id", b'"task"', BAD_REQUEST),
        Hostile("body-number", "events.add", b"42", NO_EVENTS),
        Hostile("event-list", "events.add", j([{"task": TASK}]), NO_EVENTS),
        Hostile("batch-junk", "events.add_batch", b'1\n[]\n"x"\nnull\n', NO_EVENTS),
        Hostile("event-value-str", "events.add", j({"task": TASK, "type": SCALAR, "value": "1"})),
        Hostile("event-iter-float", "events.add", j({"task": TASK, "type": "log", "iter": 1.5})),
        Hostile("body-truncated", "tasks.create", b'{"name": "abc", "ty', BAD_REQUEST),
        Hostile("body-raw-nul", "tasks.create", b'{"name": "abc"\x00}', BAD_REQUEST),
    ]


def _huge() -> list[Hostile]:
    many = [f"id{i}" for i in range(20_000)]  # over the limits; the body stays < 1 MB
    return [
        Hostile(
            "comment-900k",
            "tasks.create",
            j({"name": "abc", "type": "qc", "comment": "c" * 900_000}),
            OK,
        ),
        Hostile("body-over-limit", "tasks.create", j({"name": "x" * 1_000_001}), (413, 0)),
        Hostile(
            "tag-long",
            "tasks.create",
            j({"name": "abc", "type": "qc", "tags": [LONG]}),
            BAD_REQUEST,
        ),
        Hostile(
            "project-long",
            "tasks.create",
            j({"name": "abc", "type": "qc", "project": LONG}),
            BAD_REQUEST,
        ),
        Hostile("queue-long", "tasks.enqueue", j({"task": TASK, "queue_name": LONG}), BAD_REQUEST),
        Hostile("proj-name-long", "projects.create", j({"name": LONG}), BAD_REQUEST),
        Hostile(
            "update-tags-long",
            "tasks.update_tags",
            j({"ids": [TASK], "add_tags": [LONG]}),
            BAD_REQUEST,
        ),
        Hostile(
            "metric-long",
            "events.add",
            j({"task": TASK, "type": SCALAR, "metric": LONG, "value": 1}),
            NO_EVENTS,
        ),
        Hostile(
            "request-id-long", "tasks.ping", j({"task": TASK}), BAD_REQUEST, {"X-Request-Id": LONG}
        ),
        Hostile("ids-20k", "tasks.get_all", j({"id": many}), BAD_FILTER),
        Hostile("tags-20k", "tasks.get_all", j({"tags": many}), BAD_FILTER),
        Hostile("proj-ids-20k", "projects.get_all", j({"id": many}), BAD_FILTER),
        Hostile("many-ids-20k", "tasks.archive_many", j({"ids": many}), BAD_REQUEST),
        Hostile("archive-20k", "tasks.archive", j({"tasks": many}), BAD_REQUEST),
        Hostile(
            "update-tags-20k",
            "tasks.update_tags",
            j({"ids": many, "add_tags": ["x"]}),
            BAD_REQUEST,
        ),
        Hostile("batch-20k-events", "events.add_batch", b"{}\n" * 20_000, BAD_REQUEST),
        Hostile("order-by-10k", "tasks.get_all", j({"order_by": ["-name"] * 10_000}), BAD_FILTER),
        Hostile(
            "only-fields-10k", "tasks.get_all", j({"only_fields": ["a.b"] * 10_000}), BAD_REQUEST
        ),
        Hostile("regex-10k", "tasks.get_all", j({"name": "a" * 10_000}), BAD_FILTER),
        Hostile("search-10k", "tasks.get_all", j({"search_text": "a" * 10_000}), BAD_FILTER),
        Hostile("proj-regex-10k", "projects.get_all", j({"name": "a" * 10_000}), BAD_FILTER),
        Hostile(
            "metric-pairs-50",
            "tasks.get_all",
            j({f"last_metrics.{i:032x}.{'b' * 32}.value": [0, 1] for i in range(50)}),
            BAD_FILTER,
        ),
        Hostile("task-id-100k", "tasks.get_by_id", j({"task": "f" * 100_000}), (400, 101)),
        Hostile(
            "hyper-50k",
            "tasks.edit_hyper_params",
            j(
                {
                    "task": TASK,
                    "hyperparams": [
                        {"section": "s", "name": f"p{i}", "value": "v"} for i in range(50_000)
                    ],
                }
            ),
        ),
    ]


def _deep() -> list[Hostile]:
    return [
        Hostile(
            "runtime-depth-5000",
            "tasks.create",
            b'{"name": "abc", "type": "qc", "runtime": {"x": ' + nest(5000) + b"}}",
            BAD_REQUEST,
        ),
        Hostile(
            "runtime-depth-990",
            "tasks.create",
            b'{"name": "abc", "type": "qc", "runtime": {"x": ' + nest(990) + b"}}",
            BAD_REQUEST,
        ),
        Hostile(
            "runtime-depth-101",
            "tasks.create",
            b'{"name": "abc", "type": "qc", "runtime": {"x": ' + nest(99) + b"}}",
            BAD_REQUEST,
        ),
        Hostile(
            "runtime-depth-100",
            "tasks.create",
            b'{"name": "abc", "type": "qc", "runtime": {"x": ' + nest(98) + b"}}",
            OK,
        ),
        Hostile(
            "plot-depth-5000",
            "events.add",
            b'{"task": "@TASK@", "type": "plot", "x": ' + nest(5000) + b"}",
            BAD_REQUEST,
        ),
        Hostile(
            "plot-depth-990-nan",
            "events.add",
            b'{"task": "@TASK@", "type": "plot", "y": NaN, "x": ' + nest(990) + b"}",
            BAD_REQUEST,
        ),
        Hostile(
            "batch-depth-5000",
            "events.add_batch",
            b'{"task": "@TASK@", "type": "plot", "x": ' + nest(5000) + b"}",
            NO_EVENTS,
        ),
        Hostile(
            "filter-depth-5000",
            "tasks.get_all",
            b'{"id": ' + nest(5000, b'"x"') + b"}",
            BAD_REQUEST,
        ),
        Hostile(
            "filter-depth-600", "tasks.get_all", b'{"id": ' + nest(600, b'"x"') + b"}", BAD_REQUEST
        ),
        Hostile(
            "objects-depth-5000",
            "tasks.edit",
            b'{"task": "@TASK@", "runtime": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
            BAD_REQUEST,
        ),
        Hostile(
            "brackets-in-strings",
            "tasks.create",
            j({"name": "abc", "type": "qc", "comment": "[" * 5000 + "{" * 5000}),
            OK,
        ),
    ]


def _encodings() -> list[Hostile]:
    return [
        Hostile(
            "utf8-invalid-name",
            "tasks.create",
            b'{"name": "ab\xff\xfe", "type": "qc"}',
            BAD_REQUEST,
        ),
        Hostile("utf8-invalid-filter", "tasks.get_all", b'{"name": "\xc3\x28"}', BAD_REQUEST),
        Hostile(
            "utf8-invalid-event",
            "events.add",
            b'{"task": "@TASK@", "type": "log", "msg": "\xff"}',
            BAD_REQUEST,
        ),
        Hostile(
            "utf8-invalid-batch",
            "events.add_batch",
            b'{"task": "@TASK@", "type": "log", "msg": "\xed\xa0\x80"}',
            NO_EVENTS,
        ),
        Hostile(
            "utf8-overlong",
            "tasks.create",
            b'{"name": "\xc0\xaf\xc0\xaf\xc0\xaf", "type": "qc"}',
            BAD_REQUEST,
        ),
        Hostile(
            "surrogate-name", "tasks.create", b'{"name": "ab\\ud800c", "type": "qc"}', BAD_REQUEST
        ),
        Hostile(
            "surrogate-event-nan",
            "events.add",
            b'{"task": "@TASK@", "type": "log", "msg": "\\udc00", "x": NaN}',
            BAD_REQUEST,
        ),
        Hostile(
            "surrogate-batch-nan",
            "events.add_batch",
            b'{"task": "@TASK@", "type": "log", "msg": "\\udc00", "x": NaN}',
            NO_EVENTS,
        ),
        Hostile("bom-body", "tasks.get_all", b"\xef\xbb\xbf{}", BAD_REQUEST),
        Hostile("utf16-body", "tasks.get_all", "{}".encode("utf-16"), BAD_REQUEST),
        Hostile(
            "emoji-name",
            "tasks.create",
            j({"name": "🚀🔥💥", "type": "qc", "tags": ["tag-🚀"]}),
            OK,
        ),
    ]


def _non_finite() -> list[Hostile]:
    return [
        Hostile(
            "nan-in-create",
            "tasks.create",
            b'{"name": "abc", "type": "qc", "runtime": {"x": NaN}}',
            BAD_REQUEST,
        ),
        Hostile(
            "inf-in-filter", "tasks.get_all", b'{"last_iteration": [Infinity, null]}', BAD_REQUEST
        ),
        Hostile(
            "nan-string-range", "tasks.get_all", j({"active_duration": ["NaN", None]}), BAD_FILTER
        ),
        Hostile(
            "inf-string-range", "tasks.get_all", j({METRIC_KEY: ["-Infinity", "1e999"]}), BAD_FILTER
        ),
        Hostile("huge-int-metric-range", "tasks.get_all", j({METRIC_KEY: [10**400, None]}), OK),
        Hostile("huge-int-metric-high", "tasks.get_all", j({METRIC_KEY: [None, -(10**400)]}), OK),
        Hostile(
            "huge-int-count-range",
            "tasks.get_all",
            j({"last_metrics." + "a" * 32 + "." + "b" * 32 + ".count": [10**30, None]}),
            OK,
        ),
        Hostile(
            "nan-value",
            "events.add",
            b'{"task": "@TASK@", "type": "training_stats_scalar", "metric": "m", "value": NaN,'
            b' "iter": 1}',
            OK,
        ),
        Hostile(
            "nan-timestamp",
            "events.add",
            b'{"task": "@TASK@", "type": "training_stats_scalar", "value": 1, "timestamp": NaN}',
            NO_EVENTS,
        ),
        Hostile(
            "inf-timestamp-log",
            "events.add",
            b'{"task": "@TASK@", "type": "log", "msg": "m", "timestamp": Infinity}',
            NO_EVENTS,
        ),
        Hostile(
            "huge-timestamp",
            "events.add",
            j({"task": TASK, "type": SCALAR, "value": 1, "timestamp": 1e300}),
            NO_EVENTS,
        ),
        Hostile(
            "huge-int-timestamp-log",
            "events.add",
            j({"task": TASK, "type": "log", "msg": "m", "timestamp": 10**30}),
            NO_EVENTS,
        ),
        Hostile(
            "nan-iter",
            "events.add",
            b'{"task": "@TASK@", "type": "training_stats_scalar", "value": 1, "iter": NaN}',
            NO_EVENTS,
        ),
        Hostile(
            "inf-value-batch",
            "events.add_batch",
            b'{"task": "@TASK@", "type": "training_stats_scalar", "value": -Infinity}\n'
            b'{"task": "@TASK@", "type": "plot", "y": [NaN, Infinity]}',
            OK,
        ),
        Hostile(
            "nan-expected-version",
            "tasks.edit",
            b'{"task": "@TASK@", "expected_version": NaN}',
            BAD_REQUEST,
        ),
    ]


def _metacharacters() -> list[Hostile]:
    sql = "'; DROP TABLE events; --"
    return [
        Hostile(
            "sql-name", "tasks.create", j({"name": sql, "type": "qc", "tags": [sql, '"`\\']}), OK
        ),
        Hostile("sql-project-filter", "tasks.get_all", j({"project": "' OR '1'='1"}), OK),
        Hostile("sql-search", "tasks.get_all", j({"search_text": "%' OR 1=1 --"}), OK),
        Hostile("sql-like-wildcards", "tasks.get_all", j({"search_text": "%_%\\"}), OK),
        Hostile(
            "sql-order", "tasks.get_all", j({"order_by": ["name; DROP TABLE tasks"]}), BAD_FILTER
        ),
        Hostile(
            "sql-metric-key",
            "tasks.get_all",
            j({"last_metrics.a' OR 1=1.b.value": [0, 1]}),
            BAD_FILTER,
        ),
        Hostile(
            "sql-date",
            "tasks.get_all",
            j({"last_update": "<2000-01-01'; DROP TABLE tasks; --"}),
            BAD_FILTER,
        ),
        Hostile(
            "sql-queue", "tasks.enqueue", j({"task": TASK, "queue": "x' OR '1'='1"}), (400, 701)
        ),
        Hostile("sql-analytics", "analytics.status_durations", j({"project": "' OR 1=1 --"}), OK),
        Hostile(
            "sql-activity", "analytics.get_project_activity", j({"project": "' OR 1=1 --"}), OK
        ),
        Hostile(
            "sql-hyper-keys",
            "tasks.edit_hyper_params",
            j({"task": TASK, "force": True, "hyperparams": [{"section": "$/'", "name": '";--'}]}),
            OK,
        ),
        Hostile("regex-unbalanced", "tasks.get_all", j({"name": "("}), BAD_FILTER),
        Hostile("regex-bracket", "tasks.get_all", j({"comment": "[a-"}), BAD_FILTER),
        Hostile("regex-escape", "tasks.get_all", j({"name": "\\"}), BAD_FILTER),
        Hostile(
            "regex-too-complex",
            "tasks.get_all",
            j({"name": "((((a{1,255}){1,255}){1,255}){1,255})"}),
            BAD_FILTER,
        ),
        Hostile(
            "regex-backrefs", "tasks.get_all", j({"name": "(a*)*\\1b", "comment": "(?i)^.*$"}), OK
        ),
        Hostile("regex-project", "projects.get_all", j({"name": "*"}), BAD_FILTER),
        Hostile("filter-operators", "tasks.get_all", j({"tags": ["__$all", "__$not"]}), BAD_FILTER),
        Hostile("filter-unknown-op", "tasks.get_all", j({"tags": ["__$where", "1"]}), BAD_FILTER),
        Hostile("filter-lone-dash", "tasks.get_all", j({"status": ["-"]}), BAD_FILTER),
        Hostile(
            "tag-reserved",
            "tasks.create",
            j({"name": "abc", "type": "qc", "tags": ["__$all"]}),
            BAD_REQUEST,
        ),
        Hostile(
            "only-fields-junk",
            "tasks.get_all",
            j({"only_fields": [".", "..", "-", "", "a..b"]}),
            OK,
        ),
    ]


def _numbers() -> list[Hostile]:
    return [
        Hostile("page-negative", "tasks.get_all", j({"page": -1}), BAD_FILTER),
        Hostile("page-size-zero", "tasks.get_all", j({"page_size": 0}), BAD_FILTER),
        Hostile("page-2-64", "tasks.get_all", j({"page": 2**64, "page_size": 2**64}), OK),
        Hostile("proj-page-2-64", "projects.get_all", j({"page": 2**64}), OK),
        Hostile("proj-page-2-62", "projects.get_all", j({"page": 2**62}), OK),
        Hostile("proj-page-negative", "projects.get_all", j({"page_size": -5}), BAD_FILTER),
        Hostile("range-beyond-int8", "tasks.get_all", j({"last_iteration": [2**64, 2**65]}), OK),
        Hostile("range-1e308", "tasks.get_all", j({"active_duration": [-1e308, 1e308]}), OK),
        Hostile(
            "range-digits", "tasks.get_all", j({"last_iteration": ["1" * 5000, None]}), BAD_FILTER
        ),
        Hostile("as-of-zero", "tasks.get_by_id", j({"task": TASK, "as_of": 0}), BAD_REQUEST),
        Hostile(
            "as-of-negative", "tasks.get_by_id", j({"task": TASK, "as_of": -(2**63)}), BAD_REQUEST
        ),
        Hostile("as-of-2-64", "tasks.get_by_id", j({"task": TASK, "as_of": 2**64}), OK),
        Hostile(
            "as-of-year-1",
            "tasks.get_by_id",
            j({"task": TASK, "as_of": "0001-01-01T00:00:00+14:00"}),
            (400, 101),
        ),
        Hostile(
            "expected-version-huge",
            "tasks.edit",
            j({"task": TASK, "comment": "x", "expected_version": 2**70}),
            (409, 0),
        ),
        Hostile(
            "iteration-2-63",
            "tasks.add_or_update_model",
            j({"task": TASK, "name": "m", "model": "x", "type": "input", "iteration": 2**63}),
            BAD_REQUEST,
        ),
        Hostile(
            "iter-2-63",
            "events.add",
            j({"task": TASK, "type": SCALAR, "value": 1, "iter": 2**63}),
            NO_EVENTS,
        ),
        Hostile(
            "value-10-400",
            "events.add",
            j({"task": TASK, "type": SCALAR, "value": 10**400}),
            NO_EVENTS,
        ),
        Hostile(
            "log-batch-negative", "events.get_task_log", j({"task": TASK, "batch_size": -5}), OK
        ),
        Hostile(
            "log-from-2-70", "events.get_task_log", j({"task": TASK, "from_timestamp": 2**70}), OK
        ),
        Hostile("analytics-limit-0", "analytics.status_intervals", j({"limit": 0}), BAD_FILTER),
        Hostile("analytics-limit-2-63", "analytics.queue_waits", j({"limit": 2**63}), BAD_FILTER),
        Hostile(
            "analytics-year-1",
            "analytics.status_summary",
            j({"group_by": "day", "since": "0001-01-01T00:00:00+00:00"}),
            OK,
        ),
        Hostile(
            "activity-day-before-year-1",
            "analytics.get_project_activity",
            j({"since": "0001-01-01T00:00:00+05:00"}),
            BAD_REQUEST,
        ),
        Hostile(
            "activity-day-after-9999",
            "analytics.get_project_activity",
            j({"until": "9999-12-31T23:00:00-05:00"}),
            BAD_REQUEST,
        ),
        Hostile(
            "activity-limit-2-63", "analytics.get_project_activity", j({"limit": 2**63}), BAD_FILTER
        ),
        Hostile(
            "analytics-window-reversed",
            "analytics.status_intervals",
            j({"since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00Z"}),
            BAD_FILTER,
        ),
        Hostile(
            "created-year-1",
            "tasks.get_all",
            j({"created": ["0001-01-01T00:00:00+14:00", None]}),
            OK,
        ),
        Hostile(
            "big-ints-kept",
            "tasks.create",
            j(
                {
                    "name": "abc",
                    "type": "qc",
                    "runtime": {"x": 10**30},
                    "execution": {"model_labels": {"a": 2**64}},
                }
            ),
            OK,
        ),
    ]


def _nul() -> list[Hostile]:
    return [
        Hostile("nul-name", "tasks.create", j({"name": "ab\x00c", "type": "qc"}), BAD_REQUEST),
        Hostile(
            "nul-tag", "tasks.update_tags", j({"ids": [TASK], "add_tags": ["a\x00"]}), BAD_REQUEST
        ),
        Hostile("nul-filter", "tasks.get_all", j({"name": "\x00"}), BAD_REQUEST),
        Hostile(
            "nul-hyper-key",
            "tasks.create",
            j({"name": "abc", "type": "qc", "hyperparams": {"a\x00": {}}}),
            BAD_REQUEST,
        ),
        Hostile(
            "nul-metric",
            "events.add",
            j({"task": TASK, "type": SCALAR, "metric": "\x00", "value": 1}),
            NO_EVENTS,
        ),
        Hostile("nul-event-task", "events.add", j({"task": "ab\x00c", "type": "plot"}), NO_EVENTS),
        Hostile("nul-log-msg", "events.add", j({"task": TASK, "type": "log", "msg": "a\x00b"}), OK),
        Hostile("nul-project-name", "projects.create", j({"name": "p\x00"}), BAD_REQUEST),
        Hostile(
            "nul-histogram",
            "events.scalar_metrics_iter_histogram",
            j({"task": TASK, "metric": "\x00"}),
            BAD_REQUEST,
        ),
    ]


def _protocol() -> list[Hostile]:
    return [
        Hostile("auth-garbage", "tasks.get_all", b"{}", (401, 21), {"Authorization": "Basic %%%"}),
        Hostile("auth-scheme", "tasks.get_all", b"{}", (401, 21), {"Authorization": "Token abc"}),
        Hostile(
            "auth-empty-bearer", "tasks.get_all", b"{}", (401, 30), {"Authorization": "Bearer"}
        ),
        Hostile(
            "auth-basic-no-colon",
            "tasks.get_all",
            b"{}",
            (401, 21),
            {"Authorization": "Basic eA=="},
        ),
        Hostile(
            "request-id-controls", "tasks.ping", j({"task": TASK}), OK, {"X-Request-Id": "a\tb c"}
        ),
        Hostile("get-with-body", "tasks.get_all", j({"page_size": 1}), OK, method="GET"),
        Hostile("put", "tasks.get_all", b"{}", (405, 0), method="PUT"),
        Hostile("unknown-endpoint", "tasks.drop_all", b"{}", (404, 0)),
        Hostile("dot-dot-path", "v2.23/../tasks.get_all", b"{}"),
        Hostile("long-version", "v2.99999999999999999999/tasks.get_all", b"{}", OK),
        Hostile("long-path", "a" * 5000, b"{}", (404, 0)),
        Hostile("percent-nul-path", "tasks.get_all%00", b"{}", (404, 0)),
        Hostile("content-type-lie", "tasks.get_all", b"{}", OK, {"Content-Type": "text/plain"}),
        Hostile("empty-create", "tasks.create", b"", BAD_REQUEST),
        Hostile("empty-batch", "events.add_batch", b"\n\n", (400, 17)),
    ]


def corpus() -> list[Hostile]:
    """Every entry; names are unique (they name the test cases)."""
    entries = [
        *_wrong_types(),
        *_huge(),
        *_deep(),
        *_encodings(),
        *_non_finite(),
        *_metacharacters(),
        *_numbers(),
        *_nul(),
        *_protocol(),
    ]
    assert len({e.name for e in entries}) == len(entries)
    return entries
