"""For auditors: every event of a model's stream (who changed what, and when), read from the log
alone, so a deleted model's history reads as well as a live one's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.model_errors import ModelNotFound
from tasktrack.domain.models import stream_of
from tasktrack.store import eventlog

# Fields the entry carries elsewhere (`at`, `user`, the stream's own id and tenant), not among
# the changes.
_COMMON = frozenset({"at", "by", "event", "model_id", "company"})


class ModelHistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the stream: its version, when it was recorded, by whom, and what it says."""

    version: int
    position: int
    at: datetime
    user: str
    event: str
    changes: dict[str, Any]
    request_id: str | None = None


def _changes(event: ev.AnyEvent) -> dict[str, Any]:
    """The event's own fields (what changed), as plain JSON-able values."""
    if isinstance(event, ev.ModelEventsStored):
        # Read without payloads (plots and images as stubs): only how many there were.
        return {"events": len(event.events)}
    body = msgspec.to_builtins(event)
    if isinstance(event, ev.ModelEdited):
        body |= body.pop("changes")  # the fields an edit set, not one nested object
    return {k: v for k, v in body.items() if k not in _COMMON}


def history(conn: psycopg.Connection[Any], company: str, model_id: str) -> list[ModelHistoryEntry]:
    """Every event of the model's stream, oldest first; ModelNotFound (exit 1, 400/201) when the
    log has no such model of this company (another company's stream reads as unknown)."""
    records = eventlog.read_stream(conn, stream_of(model_id), payloads=False)
    first = records[0].event if records else None
    if not isinstance(first, ev.ModelCreated) or first.company != company:
        raise ModelNotFound(model_id)
    return [
        ModelHistoryEntry(
            version=r.stream_version,
            position=r.position,
            at=r.recorded_at,
            user=r.metadata.user,
            event=r.type,
            changes=_changes(r.event),
            request_id=r.metadata.request_id,
        )
        for r in records
    ]
