"""Reads by a list of keys, written so that PostgreSQL plans a one-key read once per connection.

psycopg prepares a statement the fifth time it runs, and PostgreSQL then keeps its generic plan
only if that plan is costed no worse than the custom ones it made so far. A generic plan of
`id = ANY($n)` is costed for an array of ten keys, while each custom plan knows the array holds
one: the generic plan never wins, and every command's read of its one task was planned again
(60-110 µs of the server's time a statement, measured in W8 with pg_stat_statements: 2,998
plans for 2,997 calls). `id = $n` has the same plan generic or custom, so it is kept.

A template names its key list `{keys}`: `... WHERE company = %s AND id {keys}`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

KEYS = "{keys}"


@functools.cache  # a handful of templates, each in two forms
def sql(template: str, one: bool) -> str:
    """The template with its key list as `= %s` (one key) or `= ANY(%s)` (any number)."""
    return template.replace(KEYS, "= %s" if one else "= ANY(%s)")


def keyed(template: str, keys: Sequence[Any]) -> tuple[str, Any]:
    """The statement for these keys, and the parameter that stands for them."""
    if len(keys) == 1:
        return sql(template, True), keys[0]
    return sql(template, False), list(keys)
