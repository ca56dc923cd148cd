"""Project names are paths: `a/b/c` is `c` under `a/b` under `a` (ClearML's nested projects).

Pure string rules, shared by the decisions and the queries: how a name is cleaned, its
location (the parent's name), its basename, the names of its ancestors, and how a descendant's
name follows when an ancestor is renamed or moved.
"""

from __future__ import annotations

from tasktrack.domain.errors import InvalidProjectName

SEPARATOR = "/"


def clean(name: str) -> str:
    """Strip every part and drop empty ones (`" a// b/"` is `a/b`); nothing left is 400/407,
    as ClearML answers for `/`."""
    parts = [p.strip() for p in name.split(SEPARATOR)]
    parts = [p for p in parts if p]
    if not parts:
        raise InvalidProjectName(f"Invalid project name: {name!r}", name=name)
    return SEPARATOR.join(parts)


def location(name: str) -> str:
    """The parent's name ("" at the top level)."""
    return name.rpartition(SEPARATOR)[0]


def basename(name: str) -> str:
    return name.rpartition(SEPARATOR)[2]


def ancestors(name: str) -> list[str]:
    """Names of every project above this one, top first (`a/b/c` -> `a`, `a/b`)."""
    parts = name.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]


def join(where: str, base: str) -> str:
    return f"{where}{SEPARATOR}{base}" if where else base


def rebase(name: str, old_prefix: str, new_prefix: str) -> str:
    """A descendant's name once its ancestor `old_prefix` is called `new_prefix`."""
    if not is_under(name, old_prefix):
        raise ValueError(f"{name!r} is not under {old_prefix!r}")
    return new_prefix + name[len(old_prefix) :]


def is_under(name: str, prefix: str) -> bool:
    """Is `name` a descendant of the project named `prefix` (at any depth)?"""
    return name.startswith(prefix + SEPARATOR)
