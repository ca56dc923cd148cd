"""The hash chain of a stream: the bytes an event is hashed over, and the link to its predecessor.

Payloads are stored as `json` (the exact text written), so the hash covers the stored bytes as
they are: no canonical re-encoding, nothing to drift between the writer and the verifier. The
envelope is encoded alongside, and every part is length-prefixed so no two events share their
bytes.

Two rules exist, and each event records the one it was hashed under (`events.chain`):

* Rule 1 (streams written before migration 0011) covers stream, version, type, schema version,
  time (UTC, to the microsecond), data and metadata. The tenant is inside the hashed metadata
  (`company`), but the log's `company` column, which every filter reads, was not covered.
* Rule 2 (every event appended since) also covers the tenant (`company`) and names the rule
  inside the hashed bytes, so an event cannot be passed off as hashed under another rule.

A stream's rule never goes back (a rule-1 event after a rule-2 one is a break), and under
either rule the `company` column, each event's hashed metadata and the creation event's payload
must all name the stream's tenant: the verifiers (audit, import) check it (`follow`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

GENESIS = b""
LEGACY = 1  # hashed without the company column (streams written before migration 0011)
CURRENT = 2  # also covers the tenant: what every append uses
RULES = (LEGACY, CURRENT)

_encoder = msgspec.json.Encoder()


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_bytes(
    *,
    stream_id: str,
    stream_version: int,
    type_name: str,
    schema_version: int,
    data: bytes,
    metadata: bytes,
    recorded_at: datetime,
    company: str,
    rule: int = CURRENT,
) -> bytes:
    """The bytes one event is hashed over under `rule`; `data` and `metadata` exactly as
    stored."""
    envelope: list[object] = [stream_id, stream_version, type_name, schema_version]
    if rule == CURRENT:
        envelope = [f"tasktrack-chain/{CURRENT}", company, *envelope]
    elif rule != LEGACY:
        raise ValueError(f"unknown hash-chain rule {rule} (known: {RULES})")
    head = _encoder.encode([*envelope, utc_text(recorded_at)])
    return b"".join(len(part).to_bytes(8, "big") + part for part in (head, data, metadata))


def link(previous: bytes, event: bytes) -> bytes:
    """The event's hash: sha-256 over the previous hash of its stream and the event's bytes."""
    return hashlib.sha256(previous + event).digest()


class _Tenant(msgspec.Struct):
    company: str


class _Named(msgspec.Struct):
    company: str | None = None


_tenant_decoder = msgspec.json.Decoder(_Tenant)
_named_decoder = msgspec.json.Decoder(_Named)


def tenant_of(metadata: bytes) -> str:
    """The tenant an event's (hashed) metadata names."""
    return _tenant_decoder.decode(metadata).company


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event as the chain sees it (payloads as stored, the hash as stored)."""

    stream_id: str
    stream_version: int
    rule: int
    company: str
    type_name: str
    schema_version: int
    data: bytes
    metadata: bytes
    recorded_at: datetime
    hash: bytes

    def content(self) -> bytes:
        """The bytes this event is hashed over, under its own rule."""
        return event_bytes(
            stream_id=self.stream_id,
            stream_version=self.stream_version,
            type_name=self.type_name,
            schema_version=self.schema_version,
            data=self.data,
            metadata=self.metadata,
            recorded_at=self.recorded_at,
            company=self.company,
            rule=self.rule,
        )


class Head(msgspec.Struct, frozen=True):
    """Where a verified stream has got to: version, hash, its tenant and its newest rule."""

    version: int
    hash: bytes
    tenant: str
    rule: int


class Broken(ValueError):
    """An event that does not follow from its stream's head; the message says why."""


def follow(head: Head | None, event: Link) -> Head:
    """Check `event` against its stream's head (None: the stream's first event) and return the
    new head, or raise Broken naming the first thing that does not hold."""
    version = 0 if head is None else head.version
    if event.stream_version != version + 1:
        raise Broken(f"version {version + 1} is missing (found {event.stream_version})")
    if event.rule not in RULES:
        raise Broken(f"unknown hash-chain rule {event.rule}")
    if head is not None and event.rule < head.rule:
        raise Broken(f"hash-chain rule {event.rule} after rule {head.rule}: rules never go back")
    try:
        tenant = tenant_of(event.metadata)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Broken("the metadata names no tenant (company)") from None
    if head is not None and tenant != head.tenant:
        raise Broken(f"the metadata names tenant {tenant!r}, the stream is {head.tenant!r}'s")
    if head is None:
        # A creation event names its tenant in its payload too (tasks, queues, projects), and
        # that is what the read models fold: it must be the one the metadata names.
        try:
            named = _named_decoder.decode(event.data).company
        except (msgspec.DecodeError, msgspec.ValidationError):
            named = None
        if named is not None and named != tenant:
            raise Broken(f"the creation names tenant {named!r}, its metadata {tenant!r}")
    if event.company != tenant:
        raise Broken(
            f"the company column says {event.company!r}, the stream's hashed metadata {tenant!r}"
        )
    digest = link(GENESIS if head is None else head.hash, event.content())
    if digest != event.hash:
        raise Broken("stored hash does not match the event's contents and its predecessor")
    return Head(event.stream_version, digest, tenant, event.rule)
