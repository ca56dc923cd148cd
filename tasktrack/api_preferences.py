"""The caller's web UI preferences (users.get_preferences / set_preferences), mixed into Client.

Preferences are rows, not events: they are the UI's settings (which columns a table shows, a
view mode), changed on every column drag, and say nothing about a task (docs/architecture.md,
"Web UI sessions").
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine

from tasktrack.domain import preferences as rules
from tasktrack.domain.errors import InvalidRequest
from tasktrack.service import Caller
from tasktrack.store import preferences as store


class PreferenceMethods:
    """Mixed into Client, which provides `engine`, `_read` and `caller`."""

    caller: Caller
    engine: Engine

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def get_preferences(self) -> dict[str, Any]:
        """users.get_preferences: what the caller's UI stored ({} at first)."""
        with self._read() as conn:
            return store.load(conn, self.caller.company, self.caller.user)

    def set_preferences(self, changes: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """users.set_preferences: merge `changes` (dotted top-level keys reach inside);
        whether anything changed, and the preferences now."""
        rules.merge({}, changes)  # refuse bad keys before opening a transaction

        def apply(current: dict[str, Any]) -> dict[str, Any]:
            merged = rules.merge(current, changes)
            if len(repr(merged)) > rules.MAX_PREFERENCES_BYTES:
                raise InvalidRequest("Validation error: preferences too large")
            return merged

        with self.engine.begin() as conn:
            return store.change(conn, self.caller.company, self.caller.user, apply)
