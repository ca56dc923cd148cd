"""What the log keeps around each event: who asked and why (metadata), and where it landed."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tasktrack.domain.events import AnyEvent


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The context of the command that produced an event, kept for auditors."""

    user: str
    company: str
    request_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    client: str | None = None


class StreamHead(msgspec.Struct, frozen=True):
    """The last event of a stream: its version and hash (version 0 and b"" for a new stream)."""

    version: int
    hash: bytes


NEW_STREAM = StreamHead(0, b"")


class Checkpoint(msgspec.Struct, frozen=True, order=True):
    """A place in the commit-safe order of the log: (writing transaction id, position)."""

    tx: int
    position: int


LOG_START = Checkpoint(0, 0)


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored in the log, decoded (and upcast) to its current Struct.

    It carries no `company`: an event's tenant is its stream's (the creation event's, in the
    task state) or, for one event alone, the hashed `metadata.company`.
    """

    position: int
    tx: int
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    event: AnyEvent
    metadata: Metadata
    recorded_at: datetime
    hash: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx, self.position)


class Appended(msgspec.Struct, frozen=True):
    """Where an appended event landed."""

    stream_version: int
    position: int
    hash: bytes
