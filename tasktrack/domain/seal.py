"""The seal of an export: an HMAC (signature) and a plain digest over every event it holds.

A stream's hash chain proves that its events follow from each other; it has no key, so whoever
can edit an export can also recompute every hash (the chain detects accidents, not forgery).
The seal closes that gap. It runs over each exported event's identity in file order: position,
stream, version, tenant (the company column), hash-chain rule and hash. Every other byte of an
event is covered by its hash, which the importer recomputes, so the seal binds them all.

* The signature is HMAC-SHA256 under a key the operator holds (`tasktrack export --key-file`):
  a file that verifies was written by a holder of the key and not altered since.
* The digest is SHA-256 over the same bytes, printed by every export: kept apart from the file
  (a ticket, a second channel), it proves the file is the one exported, without any key.
"""

from __future__ import annotations

import hashlib
import hmac

import msgspec

ALGORITHM = "HMAC-SHA256"
DIGEST_PREFIX = "sha256:"
MIN_KEY_BYTES = 32
_DOMAIN = b"tasktrack-export-seal/1\n"

_encoder = msgspec.json.Encoder()


class Seal(msgspec.Struct, frozen=True, kw_only=True):
    """What a signed export carries after its last event."""

    algorithm: str
    key_id: str
    events: int
    mac: str


class SealRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The trailer line of a signed JSON-lines export."""

    seal: Seal


def key_id(key: bytes) -> str:
    """A short public name of a key (so an importer can say "signed with another key")."""
    return hashlib.sha256(b"tasktrack-key-id\n" + key).hexdigest()[:16]


def check_key(key: bytes) -> bytes:
    """The key, or ValueError when it is too short to resist guessing."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"a signing key needs at least {MIN_KEY_BYTES} bytes (got {len(key)}): e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))' > export.key`"
        )
    return key


class Sealer:
    """Accumulates the seal of a sequence of events; `sign` and `digest` read it at the end."""

    def __init__(self, key: bytes | None = None) -> None:
        self._plain = hashlib.sha256(_DOMAIN)
        self._keyed = hmac.new(key, _DOMAIN, hashlib.sha256) if key is not None else None
        self._key_id = key_id(key) if key is not None else ""
        self.events = 0

    def add(
        self,
        *,
        position: int,
        stream_id: str,
        stream_version: int,
        company: str,
        rule: int,
        hash_hex: str,
    ) -> None:
        # JSON-encoded per event and newline-terminated: strings are escaped, so no two
        # sequences of events give the same bytes.
        line = _encoder.encode([position, stream_id, stream_version, company, rule, hash_hex])
        self._plain.update(line + b"\n")
        if self._keyed is not None:
            self._keyed.update(line + b"\n")
        self.events += 1

    def digest(self) -> str:
        return DIGEST_PREFIX + self._plain.hexdigest()

    def sign(self) -> Seal:
        if self._keyed is None:
            raise ValueError("no key: this sealer can only digest")
        return Seal(
            algorithm=ALGORITHM,
            key_id=self._key_id,
            events=self.events,
            mac=self._keyed.hexdigest(),
        )

    def verify(self, seal: Seal) -> str | None:
        """None when `seal` is this sequence's signature under the sealer's key, else why not."""
        if seal.algorithm != ALGORITHM:
            return f"unknown signature algorithm {seal.algorithm!r}"
        mine = self.sign()
        if seal.key_id != mine.key_id:
            return f"signed with another key (key id {seal.key_id}, yours is {mine.key_id})"
        if not hmac.compare_digest(seal.mac, mine.mac) or seal.events != mine.events:
            return "the signature does not match the events: the file was altered after signing"
        return None
