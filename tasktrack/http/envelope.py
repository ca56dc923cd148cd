"""The ClearML response envelope: `{meta: {...}, data: {...}}`, HTTP status = result_code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

API_VERSION = "2.23"

_encoder = msgspec.json.Encoder()


def _clearml_times(node: Any) -> Any:
    """Every datetime of a builtins tree as ClearML writes it (`isoformat()`, so `+00:00`).

    msgspec writes UTC as `Z`, which ClearML's SDK cannot parse (its optimizer's reporting
    thread dies on it); msgspec has no option for that and calls no hook for datetimes, so the
    answer is turned into builtins with datetimes kept, and those are rewritten in place here.
    Rewriting the encoded bytes instead would also change user strings that look like times.
    """
    kind = type(node)
    if kind is dict:
        for key, value in node.items():
            if type(value) in (dict, list, datetime):
                node[key] = _clearml_times(value)
    elif kind is list:
        for i, value in enumerate(node):
            if type(value) in (dict, list, datetime):
                node[i] = _clearml_times(value)
    elif kind is datetime:
        return node.isoformat()
    return node


def clearml_json(data: Any) -> Any:
    """`data` as JSON builtins in ClearML's formats (datetimes with `+00:00`)."""
    return _clearml_times(msgspec.to_builtins(data, builtin_types=(datetime,)))


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
