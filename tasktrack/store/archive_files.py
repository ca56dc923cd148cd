"""Export files: exported events as JSON lines or Parquet, each with its seal when signed.

A JSON-lines export is one event a line, payloads embedded verbatim (msgspec.Raw reads them
back untouched); a signed one ends with one `{"seal": …}` line. A Parquet export keeps the
payloads as strings and a signed one carries the seal in its footer (key `tasktrack.seal`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from tasktrack.domain import chain, seal

BATCH = 5000
PARQUET_SEAL_KEY = b"tasktrack.seal"


class ArchivedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One exported event. `data` and `metadata` are the stored JSON text, verbatim.

    `chain` is the hash-chain rule of the event; exports made before rule 2 existed lack the
    field and are rule 1 throughout."""

    position: int
    stream_id: str
    stream_version: int
    company: str
    type: str
    schema_version: int
    recorded_at: datetime
    hash: str
    metadata: msgspec.Raw
    data: msgspec.Raw
    chain: int = chain.LEGACY


class ArchiveError(RuntimeError):
    """A file that is not a readable export (a bad line, a misplaced seal)."""


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """What an export wrote: how many events, their digest, and the seal if signed."""

    events: int
    digest: str
    seal: seal.Seal | None


def as_link(e: ArchivedEvent) -> chain.Link:
    """An exported event as the chain sees it (ValueError: a hash that is not hex)."""
    return chain.Link(
        stream_id=e.stream_id,
        stream_version=e.stream_version,
        rule=e.chain,
        company=e.company,
        type_name=e.type,
        schema_version=e.schema_version,
        data=bytes(e.data),
        metadata=bytes(e.metadata),
        recorded_at=e.recorded_at,
        hash=bytes.fromhex(e.hash),
    )


def add_to(sealer: seal.Sealer, e: ArchivedEvent) -> None:
    sealer.add(
        position=e.position,
        stream_id=e.stream_id,
        stream_version=e.stream_version,
        company=e.company,
        rule=e.chain,
        hash_hex=e.hash,
    )


_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(ArchivedEvent)
_seal_decoder = msgspec.json.Decoder(seal.SealRecord)
_SEAL_START = b'{"seal":'


def write_jsonl(
    events: Iterable[ArchivedEvent], out: IO[bytes], key: bytes | None = None
) -> Written:
    sealer = seal.Sealer(key)
    for event in events:
        add_to(sealer, event)
        out.write(_encoder.encode(event) + b"\n")
    signed = sealer.sign() if key is not None else None
    if signed is not None:
        out.write(_encoder.encode(seal.SealRecord(seal=signed)) + b"\n")
    return Written(events=sealer.events, digest=sealer.digest(), seal=signed)


class Archive:
    """An export file to read: its events (streamed, once), then its seal if it has one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seal: seal.Seal | None = None
        self.parquet = path.suffix == ".parquet"
        if self.parquet:
            self.seal = _parquet_seal(path)

    def __iter__(self) -> Iterator[ArchivedEvent]:
        return _read_parquet(self.path) if self.parquet else self._read_jsonl()

    def _read_jsonl(self) -> Iterator[ArchivedEvent]:
        with self.path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                if self.seal is not None:
                    raise ArchiveError(f"{self.path}:{number}: a line after the seal")
                try:
                    if line.startswith(_SEAL_START):
                        self.seal = _seal_decoder.decode(line).seal
                        continue
                    yield _event_decoder.decode(line)
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    raise ArchiveError(
                        f"{self.path}:{number}: not an exported event: {exc}"
                    ) from exc


def read_archive(path: Path) -> Archive:
    return Archive(path)


def _arrow() -> Any:
    try:
        import pyarrow  # noqa: PLC0415 - an optional extra
        import pyarrow.parquet  # noqa: PLC0415
    except ImportError as exc:
        raise RuntimeError("Parquet needs pyarrow: pip install 'tasktrack[parquet]'") from exc
    return pyarrow


def write_parquet(events: Iterable[ArchivedEvent], path: Path, key: bytes | None = None) -> Written:
    pa = _arrow()
    schema = pa.schema(
        [
            ("position", pa.int64()),
            ("stream_id", pa.string()),
            ("stream_version", pa.int32()),
            ("company", pa.string()),
            ("type", pa.string()),
            ("schema_version", pa.int16()),
            ("recorded_at", pa.timestamp("us", tz="UTC")),
            ("hash", pa.string()),
            ("metadata", pa.string()),
            ("data", pa.string()),
            ("chain", pa.int16()),
        ]
    )
    sealer = seal.Sealer(key)
    with pa.parquet.ParquetWriter(str(path), schema) as writer:
        batch: list[ArchivedEvent] = []
        for event in events:
            add_to(sealer, event)
            batch.append(event)
            if len(batch) == BATCH:
                writer.write_table(_table(pa, schema, batch))
                batch = []
        if batch:
            writer.write_table(_table(pa, schema, batch))
        signed = sealer.sign() if key is not None else None
        if signed is not None:
            # The footer is written at close: the seal, known only now, goes in with it.
            writer.add_key_value_metadata({PARQUET_SEAL_KEY: _encoder.encode(signed)})
    return Written(events=sealer.events, digest=sealer.digest(), seal=signed)


def _table(pa: Any, schema: Any, batch: list[ArchivedEvent]) -> Any:
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for e in batch:
        for name in schema.names:
            value = getattr(e, name)
            columns[name].append(bytes(value).decode() if isinstance(value, msgspec.Raw) else value)
    return pa.table(columns, schema=schema)


def _parquet_seal(path: Path) -> seal.Seal | None:
    pa = _arrow()
    found = pa.parquet.ParquetFile(str(path)).metadata.metadata or {}
    text = found.get(PARQUET_SEAL_KEY)
    if text is None:
        return None
    try:
        return msgspec.json.decode(text, type=seal.Seal)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ArchiveError(f"{path}: an unreadable seal: {exc}") from exc


def _read_parquet(path: Path) -> Iterator[ArchivedEvent]:
    pa = _arrow()
    for batch in pa.parquet.ParquetFile(str(path)).iter_batches(batch_size=BATCH):
        for row in batch.to_pylist():
            row["metadata"] = msgspec.Raw(row["metadata"].encode())
            row["data"] = msgspec.Raw(row["data"].encode())
            yield ArchivedEvent(**row)
