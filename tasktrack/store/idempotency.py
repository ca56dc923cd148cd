"""Idempotency records: (company, request id) -> fingerprint of the command and its response."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import psycopg

from tasktrack.domain.errors import RequestIdReused

_encoder = msgspec.json.Encoder()


def lock_name(company: str, request_id: str) -> str:
    """The named lock retries of one request wait on (store/eventlog.py's stream locks)."""
    return f"request:{company}:{request_id}"


def fingerprint(command: msgspec.Struct) -> bytes:
    return hashlib.sha256(type(command).__name__.encode() + _encoder.encode(command)).digest()


def stored_response(
    conn: psycopg.Connection[Any], company: str, request_id: str, command: msgspec.Struct
) -> Any | None:
    """The response of a request already carried out under this request id, if any; the same
    id with a different command is refused (409)."""
    row = conn.execute(
        "SELECT fingerprint, response FROM idempotency_keys WHERE company = %s AND request_id = %s",
        (company, request_id),
    ).fetchone()
    if row is None:
        return None
    if bytes(row[0]) != fingerprint(command):
        raise RequestIdReused(
            f"request id {request_id!r} was already used for a different request",
            request_id=request_id,
        )
    return row[1]


def remember(
    conn: psycopg.Connection[Any],
    company: str,
    request_id: str,
    command: msgspec.Struct,
    response: Any,
) -> None:
    """Store the response (sent without waiting: the COMMIT's sync reads its outcome)."""
    conn.execute(
        "INSERT INTO idempotency_keys (company, request_id, fingerprint, response, created_at) "
        "VALUES (%s, %s, %s, %s::jsonb, now())",
        (company, request_id, fingerprint(command), _encoder.encode(response).decode()),
    )
