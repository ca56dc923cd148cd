"""The file server's rules, without I/O: what a file path may be, and its company's stream.

A path names a file inside the caller's company folder and nothing else: it is split on "/"
into names, and a name that could step out of the folder or mean something else to a file
system ("..", ".", a backslash, a NUL, a control character) is refused, not cleaned up, so a
path means one file or none. Leading and repeated slashes are dropped (ClearML's file server
drops a leading one too): "/a//b" is "a/b", still inside the folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tasktrack.domain.errors import DomainError

# Linux's limits on one name and on a whole path, in bytes.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4000


class BadFilePath(DomainError):
    """A file path that does not name a file inside the company's folder."""

    code = 400
    subcode = 0


class FileNotFound(DomainError):
    """No file at that path (or the path names a folder, or a link, which are never served)."""

    code = 404
    subcode = 0


class FileTooLarge(DomainError):
    """An upload over the configured size limit."""

    code = 413
    subcode = 0


def stream_of(company: str) -> str:
    """The company's files stream: every FileStored and FileDeleted of its file server folder.
    The company is length-prefixed, as a worker's stream (domain/workers.py)."""
    return f"files:{len(company)}:{company}"


def parts_of(path: str) -> tuple[str, ...]:
    """The names of a file path, checked (BadFilePath if it could leave the folder)."""
    if "\x00" in path:
        raise BadFilePath("Invalid file path: NUL characters are not allowed")
    if "\\" in path:
        raise BadFilePath("Invalid file path: backslashes are not allowed (use /)")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise BadFilePath("Invalid file path: control characters are not allowed")
    if len(path.encode()) > MAX_PATH_BYTES:
        raise BadFilePath(f"Invalid file path: longer than {MAX_PATH_BYTES} bytes")
    parts = tuple(p for p in path.split("/") if p)
    if not parts:
        raise BadFilePath("Invalid file path: empty")
    for part in parts:
        if part in (".", ".."):
            raise BadFilePath(f"Invalid file path: {part!r} is not allowed in a path")
        if len(part.encode()) > MAX_NAME_BYTES:
            raise BadFilePath(f"Invalid file path: a name is longer than {MAX_NAME_BYTES} bytes")
    return parts


def normal(path: str) -> str:
    """The path as the log records it: its checked names joined by "/"."""
    return "/".join(parts_of(path))


class Fact:
    """One FileStored (with its size and hash) or FileDeleted (size and hash None) of a path."""

    __slots__ = ("deleted", "path", "sha256", "size")

    def __init__(self, path: str, size: int | None = None, sha256: str | None = None) -> None:
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.deleted = size is None


def expected(facts: Iterable[Fact]) -> dict[str, tuple[int, str]]:
    """The files the log says are there, (size, SHA-256) by path: each path's last fact, if it
    is a FileStored."""
    files: dict[str, tuple[int, str]] = {}
    for fact in facts:
        if fact.deleted or fact.size is None or fact.sha256 is None:
            files.pop(fact.path, None)
        else:
            files[fact.path] = (fact.size, fact.sha256)
    return files


def differences(
    expected: Mapping[str, tuple[int, str]], found: Mapping[str, tuple[int, str]]
) -> list[str]:
    """How a folder differs from what the log says it holds (sorted; [] when it agrees)."""
    problems = [f"missing: {p} (recorded, not on disk)" for p in expected if p not in found]
    problems += [f"unrecorded: {p} (on disk, not in the log)" for p in found if p not in expected]
    problems += [
        f"different: {p} (on disk {found[p][0]} bytes sha256 {found[p][1][:12]}…, "
        f"recorded {expected[p][0]} bytes sha256 {expected[p][1][:12]}…)"
        for p in expected
        if p in found and found[p] != expected[p]
    ]
    return sorted(problems)
