"""Request bodies: JSON into the endpoint's Struct, event bodies leniently (each event on its
own), within the limits of http/limits.py. Every refusal is 400/12; nothing here can crash on
hostile input (deep nesting, invalid UTF-8, lone surrogates)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec

from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.limits import MAX_JSON_DEPTH
from tasktrack.domain.metrics import MalformedEvent
from tasktrack.http import limits

if TYPE_CHECKING:
    from tasktrack.http.calls import Spec

TOO_DEEP = f"Invalid event: JSON nested deeper than {MAX_JSON_DEPTH} levels"
_object_decoder = msgspec.json.Decoder(dict[str, Any])
_decoders: dict[str, msgspec.json.Decoder[Any]] = {}


def _decoder(spec: Spec) -> msgspec.json.Decoder[Any]:
    """The endpoint's decoder, built on first use and kept."""
    found = _decoders.get(spec.name)
    if found is None:
        found = _decoders[spec.name] = msgspec.json.Decoder(spec.request)
    return found


def _lenient_json(text: bytes) -> Any:
    """A JSON value, NaN and Infinity literals allowed (ClearML's SDK writes them).

    Raises ValueError for malformed JSON, invalid UTF-8, or (only the standard library
    accepts them) lone surrogates, which no UTF-8 encoder can write back.
    """
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        value = json.loads(text)
        try:
            msgspec.json.encode(value)
        except UnicodeEncodeError as exc:
            raise ValueError(f"invalid string: {exc.reason}") from exc
        return value


def _events(spec: Spec, body: bytes, bounds: limits.Limits | None) -> list[Any]:
    """The events of an events.add (one JSON object) or events.add_batch (JSON lines) body."""
    if spec.body == "event":
        try:
            event = _lenient_json(body or b"{}")
        except ValueError as exc:
            raise InvalidRequest(f"Validation error: JSON is malformed: {exc}") from exc
        if limits.nested_too_deep(event):
            raise limits.too_deep()
        return [event]
    lines = [line for line in body.splitlines() if line.strip()]
    if bounds is not None:  # counted before any line is decoded
        limits.check_event_count(len(lines), bounds)
    events: list[Any] = []
    for line in lines:  # each event on its own: a bad one is counted, the others go on
        try:
            event = _lenient_json(line)
        except ValueError:
            event = MalformedEvent("Invalid event: JSON is malformed")
        except RecursionError:
            event = MalformedEvent(TOO_DEEP)
        events.append(MalformedEvent(TOO_DEEP) if limits.nested_too_deep(event) else event)
    return events


def decode(spec: Spec, body: bytes, bounds: limits.Limits | None = None) -> Any:
    """The request body as the endpoint's Struct (or event list); raises 400/12 if invalid,
    too deeply nested, or (with `bounds`) over a batch limit."""
    try:
        if spec.body != "json":
            return _events(spec, body, bounds)
        if spec.parse is not None:
            payload = spec.parse(_object_decoder.decode(body or b"{}"))
        else:
            payload = _decoder(spec).decode(body or b"{}")
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"Validation error: {exc}") from exc
    except RecursionError:
        raise limits.too_deep() from None
    limits.check_body_depth(body)
    if bounds is not None:
        limits.check_request(payload, bounds)
    return payload
