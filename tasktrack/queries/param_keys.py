"""Dotted paths into hyperparams and configuration, with ClearML's escapes in their keys.

A section or parameter name may hold a `.`, so a path such as `hyperparams.a.b.c` cannot say
where a name ends: ClearML's web UI and clients write such a key escaped (`.` as `%2E`, `$` as
`%24`, `__` as `%_%_`, a leading `_` as `%_`, `%` itself as `%%`), and ClearML's server
reads the key back unescaped. tasktrack keeps names as given, so a path's keys under
hyperparams and configuration are unescaped before they are looked up. Paths into the legacy
fields lead where their items are kept.
"""

from __future__ import annotations

from tasktrack.domain.legacy import DEFAULT_SECTION

ESCAPED_ROOTS = frozenset({"hyperparams", "configuration"})
_ESCAPES = (("%2E", "."), ("%24", "$"), ("%_%_", "__"))


def unescape(key: str) -> str:
    """A key as stored, from its escaped spelling (`sec%2Etion` is `sec.tion`)."""
    pieces = key.split("%%")
    for escaped, plain in _ESCAPES:
        pieces = [p.replace(escaped, plain) for p in pieces]
    plain_key = "%".join(pieces)
    return "_" + plain_key[2:] if plain_key.startswith("%_") else plain_key


# The legacy fields' paths name where their items are kept now (domain/legacy.py), as ClearML
# rewrites them in projections, orders and filters.
_LEGACY_ROOTS = {"parameters": ["hyperparams", DEFAULT_SECTION], "model_desc": ["configuration"]}


def split_path(path: str) -> list[str]:
    """A dotted field path as its keys: under hyperparams and configuration, unescaped; the
    legacy `execution.parameters` is `hyperparams.Args`, `execution.model_desc` is
    `configuration`."""
    parts = path.split(".")
    if parts[0] == "execution" and len(parts) > 1 and parts[1] in _LEGACY_ROOTS:
        parts = [*_LEGACY_ROOTS[parts[1]], *parts[2:]]
    if parts[0] in ESCAPED_ROOTS:
        return [parts[0], *(unescape(p) for p in parts[1:])]
    return parts
