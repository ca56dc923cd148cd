"""Export the log (JSON lines or Parquet) and import an export into an empty database.

An exported event keeps its payload byte for byte (JSON lines embed the stored text verbatim;
msgspec.Raw reads it back untouched), so every hash can be checked again on import. An import
verifies each stream's chain as it reads and COPYs batch by batch, all in ONE transaction: a
refused import leaves the database as empty as it was. Positions are kept; in the new database
the whole log has one transaction id, so its commit-safe order is position order, which within
each stream is version order (a stream's writers never overlap).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import msgspec
import psycopg

from tasktrack.domain import chain
from tasktrack.domain.envelope import LOG_START, Checkpoint

BATCH = 5000


class ArchivedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One exported event. `data` and `metadata` are the stored JSON text, verbatim."""

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


class ImportRefused(RuntimeError):
    """The export cannot be imported (a broken chain, a non-empty database, a bad line)."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ArchivedEvent)
_COLUMNS = (
    "position, tx::text AS tx_text, stream_id, stream_version, company, type, schema_version, "
    "metadata::text, data::text, recorded_at, hash"
)


def read_log(
    conn: psycopg.Connection[Any], *, since: datetime | None = None, company: str | None = None
) -> Iterator[ArchivedEvent]:
    """The committed log in commit-safe order, streamed batch by batch."""
    after = LOG_START
    filters = ""
    params: list[Any] = []
    if since is not None:
        filters += " AND recorded_at >= %s"
        params.append(since)
    if company is not None:
        filters += " AND company = %s"
        params.append(company)
    while True:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE (tx, position) > (%s::text::xid8, %s) "
            "AND tx < pg_snapshot_xmin(pg_current_snapshot())"
            f"{filters} ORDER BY events.tx, events.position LIMIT %s",
            [str(after.tx), after.position, *params, BATCH],
        ).fetchall()
        if not rows:
            return
        for (
            position,
            _tx,
            stream_id,
            version,
            comp,
            type_name,
            schema_version,
            meta,
            data,
            recorded_at,
            digest,
        ) in rows:
            yield ArchivedEvent(
                position=position,
                stream_id=stream_id,
                stream_version=version,
                company=comp,
                type=type_name,
                schema_version=schema_version,
                recorded_at=recorded_at,
                hash=bytes(digest).hex(),
                metadata=msgspec.Raw(meta.encode()),
                data=msgspec.Raw(data.encode()),
            )
        last = rows[-1]
        after = Checkpoint(int(last[1]), int(last[0]))


def write_jsonl(events: Iterable[ArchivedEvent], out: IO[bytes]) -> int:
    count = 0
    for event in events:
        out.write(_encoder.encode(event) + b"\n")
        count += 1
    return count


def read_jsonl(path: Path) -> Iterator[ArchivedEvent]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield _decoder.decode(line)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise ImportRefused(f"{path}:{number}: not an exported event: {exc}") from exc


def _arrow() -> Any:
    try:
        import pyarrow  # noqa: PLC0415 - an optional extra
        import pyarrow.parquet  # noqa: PLC0415
    except ImportError as exc:
        raise RuntimeError("Parquet needs pyarrow: pip install 'tasktrack[parquet]'") from exc
    return pyarrow


def write_parquet(events: Iterable[ArchivedEvent], path: Path) -> int:
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
        ]
    )
    count = 0
    with pa.parquet.ParquetWriter(str(path), schema) as writer:
        batch: list[ArchivedEvent] = []
        for event in events:
            batch.append(event)
            if len(batch) == BATCH:
                writer.write_table(_table(pa, schema, batch))
                count += len(batch)
                batch = []
        if batch:
            writer.write_table(_table(pa, schema, batch))
            count += len(batch)
    return count


def _table(pa: Any, schema: Any, batch: list[ArchivedEvent]) -> Any:
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for e in batch:
        for name in schema.names:
            value = getattr(e, name)
            columns[name].append(bytes(value).decode() if isinstance(value, msgspec.Raw) else value)
    return pa.table(columns, schema=schema)


def read_parquet(path: Path) -> Iterator[ArchivedEvent]:
    pa = _arrow()
    for batch in pa.parquet.ParquetFile(str(path)).iter_batches(batch_size=BATCH):
        for row in batch.to_pylist():
            row["metadata"] = msgspec.Raw(row["metadata"].encode())
            row["data"] = msgspec.Raw(row["data"].encode())
            yield ArchivedEvent(**row)


def read_archive(path: Path) -> Iterator[ArchivedEvent]:
    return read_parquet(path) if path.suffix == ".parquet" else read_jsonl(path)


class ChainChecker:
    """Checks each stream's chain as events arrive (memory: one head per stream)."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, bytes]] = {}

    def check(self, e: ArchivedEvent) -> None:
        version, previous = self.heads.get(e.stream_id, (0, chain.GENESIS))
        if e.stream_version != version + 1:
            raise ImportRefused(
                f"stream {e.stream_id}: version {version + 1} is missing (found "
                f"{e.stream_version}); an export filtered by --since cannot be imported"
            )
        digest = chain.link(
            previous,
            chain.event_bytes(
                stream_id=e.stream_id,
                stream_version=e.stream_version,
                type_name=e.type,
                schema_version=e.schema_version,
                data=bytes(e.data),
                metadata=bytes(e.metadata),
                recorded_at=e.recorded_at,
            ),
        )
        if digest.hex() != e.hash:
            raise ImportRefused(
                f"stream {e.stream_id} version {e.stream_version}: the hash does not match the "
                "event and its predecessor (the export was altered)"
            )
        self.heads[e.stream_id] = (e.stream_version, digest)


def import_events(
    conn: psycopg.Connection[Any],
    events: Iterable[ArchivedEvent],
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY a verified export into an empty `events`; return how many events it held."""
    if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
        raise ImportRefused("the database already has events: import only into an empty one")
    conn.commit()
    checker = ChainChecker()
    count = 0
    batch: list[ArchivedEvent] = []

    def flush() -> None:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY events (position, stream_id, stream_version, company, type, schema_version, "
                "metadata, data, recorded_at, hash) FROM STDIN"
            ) as copy,
        ):
            for e in batch:
                copy.write_row(
                    (
                        e.position,
                        e.stream_id,
                        e.stream_version,
                        e.company,
                        e.type,
                        e.schema_version,
                        bytes(e.metadata).decode(),
                        bytes(e.data).decode(),
                        e.recorded_at,
                        bytes.fromhex(e.hash),
                    )
                )
        if progress is not None:
            progress(len(batch))

    try:
        for event in events:
            checker.check(event)
            batch.append(event)
            count += 1
            if len(batch) == BATCH:
                flush()
                batch = []
        if batch:
            flush()
    except BaseException:
        conn.rollback()  # one transaction: a refused import leaves the database empty
        raise
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'position'), "
        "greatest((SELECT max(position) FROM events), 1))"
    )
    conn.commit()
    return count


def fingerprint(path: Path) -> str:
    """sha-256 of an export file, for the record."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
