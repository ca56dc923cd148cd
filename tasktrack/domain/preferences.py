"""A user's web UI preferences: how users.set_preferences merges a change into them (pure)."""

from __future__ import annotations

import copy
from typing import Any

from tasktrack.domain.errors import InvalidRequest

# A user's whole preferences document, encoded; the UI stores a few kilobytes per user.
MAX_PREFERENCES_BYTES = 1024 * 1024


def _check_keys(value: Any, nested: bool) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.startswith("$") or (nested and "." in key):
                raise InvalidRequest(
                    f"Validation error: key {key!r} is invalid; keys cannot start with '$' "
                    "or contain '.'",
                    key=key,
                )
            _check_keys(inner, True)
    elif isinstance(value, list):
        for inner in value:
            _check_keys(inner, True)


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with each change applied: a top-level key may be a dotted path ("a.b" sets
    base["a"]["b"], creating "a" if needed); nested keys are plain. `base` is not changed."""
    _check_keys(changes, False)
    merged = copy.deepcopy(base)
    for path, value in changes.items():
        parts = path.split(".")
        if not all(parts):
            raise InvalidRequest(f"Validation error: key {path!r} is invalid", key=path)
        node = merged
        for part in parts[:-1]:
            inner = node.get(part)
            if not isinstance(inner, dict):
                inner = node[part] = {}
            node = inner
        node[parts[-1]] = copy.deepcopy(value)
    return merged
