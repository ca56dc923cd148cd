"""What a decision may know besides the state and the command: the time and who is asking."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """The caller (from the credential, never the body) and the time, passed in (no clock)."""

    now: datetime
    user: str
    company: str
    # The task's last worker is registered and reported running it lately (its row says so;
    # heartbeats are rows, not events): what makes a task live for `stop` besides its own log.
    worker_reporting: bool = False
