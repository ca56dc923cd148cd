"""What one HTTP request may carry, checked before anything runs (docs/reliability.md, Limits).

Beyond a limit the request is refused with 400/12 and nothing is written. The body size limit
itself (413) is Litestar's, set from the same Settings.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tasktrack.config import Settings
from tasktrack.domain import commands as cmd
from tasktrack.domain import model_commands as mc
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.limits import MAX_JSON_DEPTH
from tasktrack.queries.shaping import check_paths

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The configurable limits (from Settings)."""

    max_batch_events: int
    max_batch_ids: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(max_batch_events=settings.max_batch_events, max_batch_ids=settings.max_batch_ids)


def too_deep() -> InvalidRequest:
    return InvalidRequest(
        f"Validation error: JSON nested deeper than {MAX_JSON_DEPTH} levels", limit=MAX_JSON_DEPTH
    )


def check_body_depth(body: bytes) -> None:
    """Refuse a (well-formed) JSON body nested deeper than MAX_JSON_DEPTH.

    Strings are blanked out, then only brackets are kept, and each pass removes the innermost
    pairs: a body of depth d is empty after exactly d passes. Bodies with few brackets are
    waved through without a look.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return
        brackets = _INNERMOST.sub(b"", brackets)
    if brackets:
        raise too_deep()


def nested_too_deep(value: Any) -> bool:
    """True for a decoded value (an event) nested deeper than MAX_JSON_DEPTH, counting itself."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_JSON_DEPTH):
        if not level:
            return False
        inner: list[Any] = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            inner.extend(c for c in children if isinstance(c, dict | list))
        level = inner
    return bool(level)


def check_event_count(count: int, limits: Limits) -> None:
    if count > limits.max_batch_events:
        raise InvalidRequest(
            f"Validation error: at most {limits.max_batch_events} events per request, got {count}",
            limit=limits.max_batch_events,
        )


def _ids(payload: Any) -> list[str] | None:
    # Every id is a stream the command locks: a cap keeps one request from locking thousands.
    if isinstance(payload, cmd.ManyTasks | cmd.UpdateTags | mc.ManyModels):
        return payload.ids
    tasks = getattr(payload, "tasks", None)  # tasks.archive
    return tasks if isinstance(tasks, list) else None


def check_request(payload: Any, limits: Limits) -> None:
    """Ids per batch command and only_fields paths of a decoded body."""
    ids = _ids(payload)
    if ids is not None and len(ids) > limits.max_batch_ids:
        raise InvalidRequest(
            f"Validation error: at most {limits.max_batch_ids} ids per request, got {len(ids)}",
            limit=limits.max_batch_ids,
        )
    fields = getattr(payload, "only_fields", None)
    if isinstance(fields, list):
        check_paths(fields)
