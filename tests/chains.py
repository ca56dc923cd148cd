"""What a careful forger does: recompute hash chains (from stored rows, or over an export)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec

from tasktrack.domain import chain
from tasktrack.store.archive_files import ArchivedEvent, as_link
from tasktrack.store.chaincheck import as_link as row_link


def rechained(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, bytes]]:
    """(version, hash) of one stream's rows (chaincheck.RAW_COLUMNS), each under its rule."""
    previous = chain.GENESIS
    for row in rows:
        event = row_link(row)
        previous = chain.link(previous, event.content())
        yield event.stream_version, previous


def rechain_export(events: Iterable[ArchivedEvent], rule: int | None = None) -> list[ArchivedEvent]:
    """The events with every stream's hashes recomputed (under `rule`, else each one's own)."""
    heads: dict[str, bytes] = {}
    out = []
    for e in events:
        e = msgspec.structs.replace(e, chain=e.chain if rule is None else rule)  # noqa: PLW2901
        digest = chain.link(heads.get(e.stream_id, chain.GENESIS), as_link(e).content())
        heads[e.stream_id] = digest
        out.append(msgspec.structs.replace(e, hash=digest.hex()))
    return out
