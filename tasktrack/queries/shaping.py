"""`only_fields`: keep the dotted paths asked for (a `-` prefix drops one instead); id stays.

Shared by the HTTP answers and `Client.get_all(only_fields=...)`, so both shape alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.limits import MAX_ONLY_FIELDS
from tasktrack.queries.param_keys import split_path


def _get(doc: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _put(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _keep_containers(doc: dict[str, Any], path: list[str], out: dict[str, Any]) -> None:
    """A path whose end is missing still answers the objects on the way to it, empty (as
    MongoDB's projection does: `runtime.version` of a task without it gives `runtime: {}`,
    which `clearml.Dataset` reads unguarded)."""
    node: Any = doc
    target = out
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        node = node[key]
        child = target.setdefault(key, {})
        if not isinstance(child, dict):
            return
        target = child


def _drop(doc: dict[str, Any], path: list[str]) -> None:
    node: Any = doc
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def only_fields(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    include = [split_path(f) for f in fields if f and not f.startswith("-")]
    exclude = [split_path(f[1:]) for f in fields if f.startswith("-") and len(f) > 1]
    if ["*"] in include:  # every field (ClearML's web UI asks `["*", "entries.task.name"]`)
        include = []
    if include:
        out: dict[str, Any] = {"id": doc["id"]} if "id" in doc else {}
        for path in include:
            found, value = _get(doc, path)
            if found:
                _put(out, path, value)
            else:
                _keep_containers(doc, path, out)
    else:
        out = dict(doc)
    for path in exclude:
        if path != ["id"]:
            _drop(out, path)
    return out


def check_paths(fields: list[str]) -> None:
    """At most MAX_ONLY_FIELDS paths (400/12): each one is applied to every row of the page."""
    if len(fields) > MAX_ONLY_FIELDS:
        raise InvalidRequest(
            f"Validation error: at most {MAX_ONLY_FIELDS} only_fields paths, got {len(fields)}",
            limit=MAX_ONLY_FIELDS,
        )


def paths(value: Any) -> list[str]:
    """only_fields as the Python API takes it: a list of strings (400/12 otherwise)."""
    try:
        fields = msgspec.convert(value, list[str])
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"Validation error: only_fields: {exc}") from exc
    check_paths(fields)
    return fields


def shape(rows: Iterable[msgspec.Struct], fields: list[str]) -> list[dict[str, Any]]:
    """Each row as the JSON-like document HTTP answers, cut down to `fields`."""
    return [only_fields(clearml_json(row), fields) for row in rows]


def _clearml_times(node: Any) -> Any:
    """Every datetime of a builtins tree as ClearML writes it (`isoformat()`, so `+00:00`).

    msgspec writes UTC as `Z`, which ClearML's SDK cannot parse (its optimizer's reporting
    thread dies on it); msgspec has no option for that and calls no hook for datetimes, so the
    answer is turned into builtins with datetimes kept, and those are rewritten in place here.
    Rewriting the encoded bytes instead would also change user strings that look like times.
    """
    kind = type(node)
    if kind is dict:
        for key, value in node.items():
            if type(value) in (dict, list, datetime):
                node[key] = _clearml_times(value)
    elif kind is list:
        for i, value in enumerate(node):
            if type(value) in (dict, list, datetime):
                node[i] = _clearml_times(value)
    elif kind is datetime:
        return node.isoformat()
    return node


def clearml_json(data: Any) -> Any:
    """`data` as JSON builtins in ClearML's formats (datetimes with `+00:00`)."""
    return _clearml_times(msgspec.to_builtins(data, builtin_types=(datetime,)))
