"""What the log says about the file server: every company's file facts, in log order."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from tasktrack.domain.files import Fact, stream_of


def facts(conn: psycopg.Connection[Any], company: str | None = None) -> dict[str, list[Fact]]:
    """FileStored / FileDeleted facts by company (one company's, or every company's)."""
    where = "stream_id LIKE 'files:%%'"
    params: tuple[str, ...] = ()
    if company is not None:
        where, params = "stream_id = %s", (stream_of(company),)
    rows = conn.execute(
        "SELECT stream_id, type, data->>'path', (data->>'size')::bigint, data->>'sha256' "
        f"FROM events WHERE {where} ORDER BY stream_id, stream_version",
        params,
    )
    found: dict[str, list[Fact]] = defaultdict(list)
    for stream_id, kind, path, size, sha in rows:
        # "files:<len>:<company>": the company is the rest after the length's colon.
        owner = stream_id.split(":", 2)[2]
        stored = kind == "FileStored"
        found[owner].append(Fact(path, size if stored else None, sha if stored else None))
    return dict(found)
