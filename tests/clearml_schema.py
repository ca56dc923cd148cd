"""Reads ClearML's task schema (the shared seeds file, HOCON) into plain dicts, and checks an
answer against it: every field the answer carries has the schema's JSON type."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

# The schema is ClearML's, kept beside the project (../shared/seeds), never copied into it.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

_TOKEN = re.compile(
    # A comment ends at a newline; the seeds file has lost its newlines, so also before the
    # next brace or the next `name {` (where the following member starts).
    r'(?P<skip>\s+|,|(?:#|//)[^\n{}]*?(?=\s+[\w$"]+\s*\{|[{}\n]|$))'
    r'|(?P<triple>"""(?:.|\n)*?""")'
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<punct>[{}\[\]:=])"
    r'|(?P<word>[^\s{}\[\]:=,"#]+)'
)
# ClearML writes datetimes with an explicit offset, never "Z" (the SDK's parser needs it).
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


def schema_file() -> Path:
    """The seeds file; off CI a checkout without ../shared skips, in CI it fails."""
    found = sorted(SEEDS.glob("000_*.txt")) if SEEDS.is_dir() else []
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"ClearML's task schema is not at {SEEDS} (../shared/seeds)")
        pytest.skip(f"ClearML's task schema is not at {SEEDS} (../shared/seeds)")
    return found[0]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"cannot read the schema at {text[pos : pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "skip":
            out.append((kind, m.group()))
    return out


def _unquote(kind: str, text: str) -> str:
    if kind == "triple":
        return text[3:-3]
    if kind == "string":
        return str(bytes(text[1:-1], "utf-8").decode("unicode_escape"))
    return text


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def members(self, closing: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        while self.peek()[1] != closing and self.peek()[0] != "end":
            kind, text = self.take()
            key = _unquote(kind, text)
            if key == "include" and self.peek()[0] == "string":
                self.take()  # `include "_common.conf"`: definitions this check does not need
                continue
            if self.peek()[1] in (":", "="):
                self.take()
            found[key] = self.value()
        if closing:
            self.take()
        return found

    def value(self) -> Any:
        kind, text = self.take()
        if text == "{":
            return self.members("}")
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take()
            return items
        return _unquote(kind, text)


def load(path: Path) -> dict[str, Any]:
    """The schema's definitions by name (task, execution, artifact, ...)."""
    return _Reader(_tokens(path.read_text())).members("")


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    name = str(ref).rsplit("/", 1)[-1]
    # Definitions from `_common.conf` (task_status_enum...) are not in the seeds file.
    return {**schema.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def mismatches(schema: dict[str, Any], node: dict[str, Any], value: Any, path: str) -> list[str]:
    """Where `value` (an answer's field) is not of the type the schema gives it, recursively."""
    node = _resolve(schema, node)
    wanted = node.get("type")
    if wanted is None:
        return []
    kinds = wanted if isinstance(wanted, list) else [wanted]
    types = tuple(t for k in kinds for t in _JSON_TYPES[k])
    is_bool = isinstance(value, bool)
    if not isinstance(value, types) or (is_bool and bool not in types):
        return [f"{path}: {type(value).__name__} {value!r:.60} where the schema says {wanted}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{path}: {value!r} is not one of {node['enum']}"]
    if node.get("format") == "date-time" and not DATETIME.match(value):
        return [f"{path}: {value!r} is not ClearML's datetime format"]
    found: list[str] = []
    if isinstance(value, dict):
        props: dict[str, Any] = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                found += mismatches(schema, sub, item, f"{path}.{key}")
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            found += mismatches(schema, node["items"], item, f"{path}[{i}]")
    return found
