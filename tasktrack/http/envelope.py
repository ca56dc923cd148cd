"""The ClearML response envelope: `{meta: {...}, data: {...}}`, HTTP status = result_code."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.queries.shaping import clearml_json

API_VERSION = "2.23"

_encoder = msgspec.json.Encoder()


class EndpointInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    requested_version: str
    actual_version: str


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    trx: str
    endpoint: EndpointInfo
    result_code: int
    result_subcode: int
    result_msg: str
    error_stack: str | None = None
    error_data: dict[str, Any] = {}


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    meta: Meta
    data: Any


def encode(
    *,
    request_id: str,
    endpoint: str,
    version: str | None,
    data: Any,
    code: int = 200,
    subcode: int = 0,
    msg: str = "OK",
    error_data: dict[str, Any] | None = None,
) -> bytes:
    """The response body; every answer, success or error, carries the full meta."""
    meta = Meta(
        id=request_id,
        trx=request_id,
        endpoint=EndpointInfo(
            name=endpoint, requested_version=version or API_VERSION, actual_version=API_VERSION
        ),
        result_code=code,
        result_subcode=subcode,
        result_msg=msg,
        error_data=error_data or {},
    )
    # Every service's answer goes through here, so ClearML's datetime format is the encoder's
    # behaviour, not each endpoint's.
    return _encoder.encode(Envelope(meta=meta, data=clearml_json(data)))
