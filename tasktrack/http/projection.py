"""`only_fields`: keep the dotted paths asked for (a `-` prefix drops one instead); id stays."""

from __future__ import annotations

from typing import Any


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


def _drop(doc: dict[str, Any], path: list[str]) -> None:
    node: Any = doc
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def only_fields(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    include = [f.split(".") for f in fields if f and not f.startswith("-")]
    exclude = [f[1:].split(".") for f in fields if f.startswith("-") and len(f) > 1]
    if include:
        out: dict[str, Any] = {"id": doc["id"]} if "id" in doc else {}
        for path in include:
            found, value = _get(doc, path)
            if found:
                _put(out, path, value)
    else:
        out = dict(doc)
    for path in exclude:
        if path != ["id"]:
            _drop(out, path)
    return out
