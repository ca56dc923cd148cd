"""Fixed bounds on what one request may ask for (docs/reliability.md, "Limits").

The configurable ones (body size, events per batch, ids per batch, the read timeout) are
Settings (config.py); these are fixed because the schema or the SQL depends on them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Tags, system tags, project ids and names, queue names and ids, parents, metric and variant
# names and request ids are keys of B-tree or GIN indexes, whose entries PostgreSQL caps at
# about 2.7 kB: 255 characters (at most 1020 bytes of UTF-8) keep every such entry under it.
MAX_KEY_LENGTH = 255
Key = Annotated[str, msgspec.Meta(max_length=MAX_KEY_LENGTH)]

# A command on a list of ids names at least one, as ClearML's batch, move and make_public
# requests do (an empty list is 400/12): an empty one once created a move's project and
# moved nothing.
Ids = Annotated[list[str], msgspec.Meta(min_length=1)]
KeyIds = Annotated[list[Key], msgspec.Meta(min_length=1)]

# JSON bodies nested deeper than this are refused; decoding and encoding recurse, and a much
# deeper value could be stored but never encoded again.
MAX_JSON_DEPTH = 100

# get_all and projects.get_all: values in one list filter (each becomes one bound parameter,
# and a statement takes at most 65535), characters in a regular expression or a search text,
# distinct last_metrics pairs named by filters and order (one join each), order keys, and
# only_fields paths (each applied to every task of the page).
MAX_FILTER_VALUES = 1000
MAX_PATTERN_LENGTH = 1024
MAX_METRIC_PAIRS_IN_FILTER = 20
MAX_ORDER_KEYS = 20
MAX_ONLY_FIELDS = 100


def too_long(value: str) -> bool:
    """True for a key longer than MAX_KEY_LENGTH characters."""
    return len(value) > MAX_KEY_LENGTH
