"""Event payloads to JSON bytes and back, through one encoder and one union decoder built once."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import msgspec

from tasktrack.domain.events import AnyEvent, Event, event_type_name
from tasktrack.domain.upcasting import UPCASTERS, Upcaster, check_chains, upcast

EVENT_CLASSES: Mapping[str, type[Event]] = {
    event_type_name(cls): cls for cls in typing.get_args(AnyEvent)
}
CURRENT_VERSIONS: Mapping[str, int] = {
    name: cls.schema_version for name, cls in EVENT_CLASSES.items()
}

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


class UnknownEventType(ValueError):
    """The log holds an event type this code does not know (written by a newer tasktrack?)."""


def check_upcasters(upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS) -> None:
    """Start-up check: every event type can be read from every schema version it ever had."""
    check_chains(CURRENT_VERSIONS, upcasters)


def type_of(event: AnyEvent) -> str:
    return event_type_name(type(event))


def encode(event: AnyEvent) -> bytes:
    """The payload stored in `events.data` (it carries its own tag, so rows are self-describing)."""
    return _encoder.encode(event)


def decode(
    type_name: str,
    schema_version: int,
    data: bytes | str,
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> AnyEvent:
    """The event from a stored payload, upcast first if it was written at an older version."""
    current = CURRENT_VERSIONS.get(type_name)
    if current is None:
        raise UnknownEventType(f"unknown event type {type_name!r}")
    if schema_version == current:
        return _decoder.decode(data)
    payload: dict[str, Any] = msgspec.json.decode(data)
    payload = upcast(type_name, schema_version, payload, current, upcasters)
    event: AnyEvent = msgspec.convert(payload, AnyEvent)
    return event
