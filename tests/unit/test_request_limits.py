"""The HTTP layer's request limits and the decoding fixes the fuzzing called for (pure)."""

from __future__ import annotations

import pytest

from tasktrack.config import ConfigError, load_settings
from tasktrack.domain.errors import DomainError, InvalidRequest
from tasktrack.domain.limits import MAX_JSON_DEPTH, MAX_ONLY_FIELDS
from tasktrack.domain.metrics import MalformedEvent
from tasktrack.http import limits
from tasktrack.http.bodies import TOO_DEEP, decode
from tasktrack.http.endpoints import ENDPOINTS, GetAll
from tasktrack.http.limits import Limits

BOUNDS = Limits(max_batch_events=3, max_batch_ids=2)


def arrays(depth: int) -> bytes:
    """A JSON document of `depth` nested arrays (the outermost counts as one)."""
    return b"[" * depth + b"]" * depth


def codes(exc: pytest.ExceptionInfo[DomainError]) -> tuple[int, int]:
    return exc.value.codes


@pytest.mark.parametrize("depth", [1, 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_a_body_at_the_depth_limit_passes(depth: int) -> None:
    limits.check_body_depth(arrays(depth))
    limits.check_body_depth(b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2 * MAX_JSON_DEPTH, 50_000])
def test_a_body_past_the_depth_limit_is_refused(depth: int) -> None:
    with pytest.raises(InvalidRequest, match="nested deeper"):
        limits.check_body_depth(arrays(depth))


def test_brackets_inside_strings_do_not_count() -> None:
    inside = b'{"a": "' + b"[" * 500 + b'\\"{{{", "b": ["]]]]"]}'
    limits.check_body_depth(inside)
    many_flat = b"[" + b",".join(b"[]" for _ in range(5000)) + b"]"  # wide, not deep
    limits.check_body_depth(many_flat)


def test_decoded_events_are_measured_the_same_way() -> None:
    def nested(depth: int) -> object:
        value: object = {}
        for _ in range(depth - 1):
            value = [value]
        return value

    assert not limits.nested_too_deep(nested(MAX_JSON_DEPTH))
    assert limits.nested_too_deep(nested(MAX_JSON_DEPTH + 1))
    assert not limits.nested_too_deep("flat")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("tasks.create", b'{"name": "abc", "type": "qc", "runtime": {"x": ' + arrays(5000) + b"}}"),
        ("tasks.create", b'{"name": "abc", "type": "qc", "runtime": {"x": ' + arrays(990) + b"}}"),
        ("tasks.get_all", b'{"id": ' + arrays(5000) + b"}"),
        ("tasks.get_all", b'{"id": ' + arrays(600) + b"}"),  # once a RecursionError
        ("events.add", b'{"task": "t", "type": "plot", "x": ' + arrays(5000) + b"}"),
        ("events.add", b'{"task": "t", "type": "plot", "y": NaN, "x": ' + arrays(990) + b"}"),
        ("tasks.create", b'{"name": "ab\xff\xfe", "type": "qc"}'),  # once a UnicodeDecodeError
        ("tasks.get_all", b'{"name": "\xc3\x28"}'),
        ("events.add", b'{"task": "t", "type": "log", "msg": "\\ud800", "x": NaN}'),
    ],
)
def test_hostile_bodies_are_400_12_not_a_crash(endpoint: str, body: bytes) -> None:
    with pytest.raises(InvalidRequest) as exc:
        decode(ENDPOINTS[endpoint], body, BOUNDS)
    assert codes(exc) == (400, 12)


def test_a_batch_is_read_event_by_event_and_counted_before_decoding() -> None:
    spec = ENDPOINTS["events.add_batch"]
    lines = [
        b'{"task": "t", "type": "plot", "x": ' + arrays(MAX_JSON_DEPTH + 5) + b"}",
        b'{"task": "t", "type": "log", "msg": "\\udc00", "v": NaN}',
        b'{"task": "t", "type": "log", "msg": "fine"}',
    ]
    events = decode(spec, b"\n".join(lines), BOUNDS)
    assert events[0] == MalformedEvent(TOO_DEEP)
    assert isinstance(events[1], MalformedEvent)
    assert events[2] == {"task": "t", "type": "log", "msg": "fine"}
    with pytest.raises(InvalidRequest, match="at most 3 events") as exc:
        decode(spec, b"not json\n" * 4, BOUNDS)
    assert codes(exc) == (400, 12)


@pytest.mark.parametrize(
    ("endpoint", "body", "refused"),
    [
        ("tasks.archive_many", b'{"ids": ["a", "b"]}', False),
        ("tasks.archive_many", b'{"ids": ["a", "b", "c"]}', True),
        ("tasks.archive", b'{"tasks": ["a", "b", "c"]}', True),
        ("tasks.update_tags", b'{"ids": ["a", "b", "c"], "add_tags": ["x"]}', True),
        ("tasks.enqueue_many", b'{"ids": ["a", "b", "c"], "queue_name": "q"}', True),
        ("models.archive_many", b'{"ids": ["a", "b"]}', False),
        ("models.archive_many", b'{"ids": ["a", "b", "c"]}', True),
        ("models.delete_many", b'{"ids": ["a", "b", "c"]}', True),
        ("models.publish_many", b'{"ids": ["a", "b", "c"]}', True),
        ("models.update_tags", b'{"ids": ["a", "b", "c"], "add_tags": ["x"]}', True),
    ],
)
def test_ids_per_batch(endpoint: str, body: bytes, refused: bool) -> None:
    if not refused:
        decode(ENDPOINTS[endpoint], body, BOUNDS)
        return
    with pytest.raises(InvalidRequest, match="at most 2 ids"):
        decode(ENDPOINTS[endpoint], body, BOUNDS)


def test_only_fields_paths() -> None:
    limits.check_request(GetAll(only_fields=["a"] * MAX_ONLY_FIELDS), BOUNDS)
    with pytest.raises(InvalidRequest, match="only_fields"):
        limits.check_request(GetAll(only_fields=["a"] * (MAX_ONLY_FIELDS + 1)), BOUNDS)


def test_the_configurable_limits_come_from_the_environment() -> None:
    default = load_settings({})
    assert (default.max_batch_events, default.max_batch_ids) == (10_000, 1_000)
    assert (default.read_timeout_ms, default.max_body_bytes) == (10_000, 10 * 1024 * 1024)
    env = {
        "TASKTRACK_MAX_BATCH_EVENTS": "7",
        "TASKTRACK_MAX_BATCH_IDS": "8",
        "TASKTRACK_READ_TIMEOUT_MS": "9",
    }
    got = load_settings(env)
    assert (got.max_batch_events, got.max_batch_ids, got.read_timeout_ms) == (7, 8, 9)
    assert Limits.of(got) == Limits(max_batch_events=7, max_batch_ids=8)
    with pytest.raises(ConfigError, match="positive"):
        load_settings({"TASKTRACK_READ_TIMEOUT_MS": "0"})
