"""Small pure pieces of the HTTP layer: NUL detection, only_fields, path parsing."""

from __future__ import annotations

import pytest

from tasktrack.http.app import _NUL_ESCAPE, _parse
from tasktrack.queries.shaping import only_fields


@pytest.mark.parametrize(
    ("body", "has_nul"),
    [
        (rb'{"a": "x\u0000y"}', True),
        (rb'{"a": "x\\u0000y"}', False),  # an escaped backslash, then the text u0000
        (rb'{"a": "x\\\u0000y"}', True),  # an escaped backslash, then a NUL
        (rb'{"a": "x\\\\u0000y"}', False),
        (rb'{"a": "u0000"}', False),
    ],
)
def test_only_a_real_nul_escape_is_found(body: bytes, has_nul: bool) -> None:
    assert bool(_NUL_ESCAPE.search(body)) is has_nul


def test_only_fields_keeps_paths_and_id_and_drops_excluded_ones() -> None:
    doc = {"id": "t", "name": "n", "status": "s", "execution": {"queue": "q", "parameters": {}}}
    assert only_fields(doc, ["status", "execution.queue"]) == {
        "id": "t",
        "status": "s",
        "execution": {"queue": "q"},
    }
    assert only_fields(doc, ["-execution", "-id"]) == {"id": "t", "name": "n", "status": "s"}
    assert only_fields(doc, ["no.such.path"]) == {"id": "t"}
    # `*` is every field, whatever else is named (ClearML's web UI: ["*", "entries.task.name"]).
    assert only_fields(doc, ["*", "execution.queue"]) == doc
    assert only_fields(doc, ["*", "-execution"]) == {"id": "t", "name": "n", "status": "s"}


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("/tasks.create", ("tasks.create", None)),
        ("/v2.23/tasks.create", ("tasks.create", "2.23")),
        ("/v2.1/events.add", ("events.add", "2.1")),
        ("/v3.0/tasks.create", ("tasks.create", "3.0")),
        ("/v999.0/tasks.create", ("tasks.create", "999.0")),
        ("/v2/tasks.create", None),
        ("/vx.1/tasks.create", None),
        ("/v99999999999999999999.0/tasks.create", ("tasks.create", "99999999999999999999.0")),
        ("/a/b/c", None),
    ],
)
def test_paths(path: str, parsed: tuple[str, str | None] | None) -> None:
    assert _parse(path) == parsed
