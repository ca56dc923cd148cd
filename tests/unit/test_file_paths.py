"""The file server's path rule: a path names a file inside the company folder, or is refused."""

from __future__ import annotations

import inspect
import posixpath
import typing
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasktrack.api_files import FileMethods
from tasktrack.domain import events as ev
from tasktrack.domain import file_commands
from tasktrack.domain.files import (
    BadFilePath,
    Fact,
    differences,
    expected,
    normal,
    parts_of,
    stream_of,
)
from tasktrack.service.core import handler_for


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../x",
        "a/../../x",
        "a/..",
        "./a",
        "a/./b",
        "a\\..\\b",
        "a\\b",
        "a\x00b",
        "a\nb",
        "a\x7fb",
        "",
        "///",
        "a/" + "n" * 256,
        "a/" * 2100,
    ],
)
def test_paths_that_could_leave_or_mislead_are_refused(path: str) -> None:
    with pytest.raises(BadFilePath):
        parts_of(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.txt", ("a", "b.txt")),
        ("/etc/passwd", ("etc", "passwd")),  # inside the folder, as ClearML drops the leading /
        ("a//b/", ("a", "b")),
        ("%2e%2e%2fx", ("%2e%2e%2fx",)),  # not decoded: a literal name
        ("...", ("...",)),
        ("sdk e2e/task.1/artifacts/x/ü.bin", ("sdk e2e", "task.1", "artifacts", "x", "ü.bin")),
    ],
)
def test_accepted_paths_are_relative_names(path: str, expected: tuple[str, ...]) -> None:
    assert parts_of(path) == expected
    assert normal(path) == "/".join(expected)


@given(st.text(alphabet=st.sampled_from(["a", ".", "/", "\\", "%", "2", "e", "\x00", "é"])))
def test_an_accepted_path_stays_inside_any_root(path: str) -> None:
    try:
        parts = parts_of(path)
    except BadFilePath:
        return
    joined = posixpath.normpath(posixpath.join("/root/co-x", *parts))
    assert joined.startswith("/root/co-x/")
    assert all(p not in ("", ".", "..") and "/" not in p for p in parts)


def test_each_company_has_its_own_stream() -> None:
    assert stream_of("a") != stream_of("b")
    assert stream_of("a:b") == "files:3:a:b"


def test_the_log_expects_each_paths_last_stored_version() -> None:
    facts = [
        Fact("a", 1, "h1"),
        Fact("b", 2, "h2"),
        Fact("a", 3, "h3"),
        Fact("b"),
        Fact("c"),
        Fact("d", 4, "h4"),
    ]
    assert expected(facts) == {"a": (3, "h3"), "d": (4, "h4")}


def test_differences_name_missing_different_and_unrecorded_files() -> None:
    wanted = {"a": (1, "aa" * 32), "b": (2, "bb" * 32), "c": (3, "cc" * 32)}
    found = {"a": (1, "aa" * 32), "b": (2, "ff" * 32), "x": (9, "99" * 32)}
    problems = differences(wanted, found)
    assert [p.split(":")[0] for p in problems] == ["different", "missing", "unrecorded"]
    assert [p.split(":")[1].split()[0] for p in problems] == ["b", "c", "x"]
    assert differences(wanted, dict(wanted)) == []


def test_the_file_commands_have_handlers_and_client_methods_and_their_events_a_kind() -> None:
    source = inspect.getsource(FileMethods)
    for kind in (file_commands.RecordFileStored, file_commands.RecordFilesDeleted):
        assert handler_for(kind) is not None
        assert f"cmd.{kind.__name__}" in source
    assert set(ev.FILE_EVENTS) == {ev.FileStored, ev.FileDeleted}
    assert set(ev.FILE_EVENTS) <= set(typing.get_args(ev.AnyEvent))
    at = datetime.now(UTC)
    assert ev.stream_kind(ev.FileDeleted(at=at, by="u", path="p")) == "file"
