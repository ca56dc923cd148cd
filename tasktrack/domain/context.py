"""What a decision may know besides the state and the command: the time and who is asking."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """The caller (from the credential, never the body) and the time, passed in (no clock)."""

    now: datetime
    user: str
    company: str
