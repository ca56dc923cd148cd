"""A scalar series' id: a 64-bit hash of (company, task, run, metric, variant), in SQL and Python.

Points are keyed by it (task_metric_points), so an index entry holds one bigint instead of the
series' five columns. Deterministic, not an identity: a replay (rebuild, verify, migration 0012)
must give every series the id the live path gave it, whatever order the series were created in.
The hash covers the company too, and `task_metric_series` is unique on (company, series_id): two
series of a company with one id (odds about n^2 / 2^65 for n series) make the write fail loudly
rather than merge their points.

The hashed text is length-prefixed (no separator can be ambiguous; text cannot hold a NUL), the
same in both languages: `length()` counts characters as Python's `len` counts code points, and
md5 sees the UTF-8 bytes. The first 16 hex digits are read as a signed big-endian 64-bit integer.
"""

from __future__ import annotations

import hashlib


def series_id(company: str, task_id: str, run: int, metric: str, variant: str) -> int:
    text = (
        f"{len(company)}:{company}{len(task_id)}:{task_id}{run}:"
        f"{len(metric)}:{metric}{len(variant)}:{variant}"
    )
    digest = hashlib.md5(text.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def series_id_sql(company: str, task_id: str, run: str, metric: str, variant: str) -> str:
    """The same as `series_id`, as a SQL expression over the given column expressions."""
    parts = (
        f"length({company}) || ':' || {company} || length({task_id}) || ':' || {task_id} || "
        f"({run})::text || ':' || length({metric}) || ':' || {metric} || length({variant}) || "
        f"':' || {variant}"
    )
    return f"('x' || left(md5({parts}), 16))::bit(64)::bigint"
