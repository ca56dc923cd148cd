"""Export the log and import an export into an empty database, every chain and seal checked.

An exported event keeps its payload byte for byte, so every hash can be checked again on
import. An import verifies each stream's chain as it reads (domain/chain.follow: versions,
rules, the tenant, the hash), checks the file's origin as the operator asked (its signature
under their key, or a digest kept apart from the file; unchecked only when asked for), and
COPYs batch by batch, all in ONE transaction: a refused import leaves the database as empty as
it was. Positions are kept; in the new database the whole log has one transaction id, so its
commit-safe order is position order, which within each stream is version order (a stream's
writers never overlap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec
import psycopg

from tasktrack.domain import chain, seal
from tasktrack.domain.records import LOG_START, Checkpoint
from tasktrack.store import eventlog
from tasktrack.store.archive_files import Archive, ArchivedEvent, ArchiveError, add_to, as_link

BATCH = 5000


class ImportRefused(RuntimeError):
    """The export cannot be imported (a broken chain or seal, a non-empty database, a bad line)."""


class ExportRefused(RuntimeError):
    """The log disagrees with its own hashes where an export relies on it: audit it first."""


class Origin(msgspec.Struct, frozen=True, kw_only=True):
    """How an import checks where its file came from: exactly one of a signing key, a digest
    kept apart from the file, or `unsigned` (nothing checked, on the operator's word)."""

    key: bytes | None = None
    digest: str | None = None
    unsigned: bool = False

    def __post_init__(self) -> None:
        chosen = (self.key is not None) + (self.digest is not None) + self.unsigned
        if chosen != 1:
            raise ValueError("check the origin one way: a key, a digest, or unsigned")


class Imported(msgspec.Struct, frozen=True, kw_only=True):
    """What an import took in, and what it could and could not prove about it."""

    events: int
    streams: int
    rules: dict[int, int]
    checked: list[str]
    not_checked: list[str]


_COLUMNS = (
    "position, tx::text AS tx_text, stream_id, stream_version, company, type, schema_version, "
    "metadata::text, data::text, recorded_at, hash, chain"
)


def read_log(
    conn: psycopg.Connection[Any], *, since: datetime | None = None, company: str | None = None
) -> Iterator[ArchivedEvent]:
    """The committed log in commit-safe order, streamed batch by batch; `company`: that
    tenant's events in its own commit-safe order (on Citus, read on the worker holding it).

    The `company` column (what `company` filters on) is checked against each event's hashed
    metadata: a log that disagrees with its own hashes is refused, not exported.
    """
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
            schema,
            meta,
            data,
            at,
            h,
            rule,
        ) in rows:
            metadata = meta.encode()
            if chain.tenant_of(metadata) != comp:
                raise ExportRefused(
                    f"stream {stream_id} version {version}: the company column says {comp!r}, "
                    "the event's hashed metadata another tenant; run `tasktrack audit verify`"
                )
            yield ArchivedEvent(
                position=position,
                stream_id=stream_id,
                stream_version=version,
                company=comp,
                type=type_name,
                schema_version=schema,
                recorded_at=at,
                hash=bytes(h).hex(),
                metadata=msgspec.Raw(metadata),
                data=msgspec.Raw(data.encode()),
                chain=rule,
            )
        last = rows[-1]
        after = Checkpoint(int(last[1]), int(last[0]))


def read_tenants(
    conn: psycopg.Connection[Any], *, since: datetime | None = None
) -> Iterator[ArchivedEvent]:
    """The whole log of a log sharded by tenant (Citus): each tenant's export, one after the
    other. Such a log has no commit-safe order of its own, only one per tenant, read on the
    worker holding it (docs/architecture.md, "Citus"); a stream is one tenant's, so each
    stream still comes whole and in version order, and `import` checks its chain the same way.
    Each tenant is read as it comes: events a tenant commits after its turn are left out, as
    an export leaves out what commits after its end."""
    for company in eventlog.tenants(conn):
        yield from read_log(conn, since=since, company=company)


class ChainChecker:
    """Checks each stream's chain as events arrive (memory: one head per stream)."""

    def __init__(self) -> None:
        self.heads: dict[str, chain.Head] = {}
        self.rules: Counter[int] = Counter()

    def check(self, e: ArchivedEvent) -> None:
        try:
            self.heads[e.stream_id] = chain.follow(self.heads.get(e.stream_id), as_link(e))
        except (chain.Broken, ValueError) as exc:
            hint = (
                "; an export filtered by --since cannot be imported"
                if "is missing" in str(exc)
                else ""
            )
            raise ImportRefused(
                f"stream {e.stream_id} version {e.stream_version}: {exc}{hint}"
            ) from None
        self.rules[e.chain] += 1


def _check_origin(origin: Origin, sealer: seal.Sealer, found: seal.Seal | None) -> str:
    """What the origin check proved, or ImportRefused saying why it failed."""
    if origin.key is not None:
        if found is None:
            raise ImportRefused("the export is not signed, and a key was given to check it with")
        problem = sealer.verify(found)
        if problem is not None:
            raise ImportRefused(f"signature: {problem}")
        return (
            f"its signature ({found.algorithm}, key id {found.key_id}): the file was made by a "
            "holder of that key and not altered since"
        )
    if origin.digest is not None:
        if sealer.digest() != origin.digest:
            raise ImportRefused(
                f"the file's digest is {sealer.digest()}, not the {origin.digest} given: it is "
                "not the export that digest was taken of, or it was altered since"
            )
        return "its digest, as given: the file is the one that digest was taken of"
    return ""


def import_events(
    conn: psycopg.Connection[Any],
    archive: Archive | Iterable[ArchivedEvent],
    *,
    origin: Origin,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """COPY a verified export into an empty `events` and say what was proved about it."""
    if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
        raise ImportRefused("the database already has events: import only into an empty one")
    conn.commit()
    checker = ChainChecker()
    sealer = seal.Sealer(origin.key)
    batch: list[ArchivedEvent] = []

    def flush() -> None:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY events (position, stream_id, stream_version, chain, company, type, "
                "schema_version, metadata, data, recorded_at, hash) FROM STDIN"
            ) as copy,
        ):
            for e in batch:
                copy.write_row(
                    (
                        e.position,
                        e.stream_id,
                        e.stream_version,
                        e.chain,
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
        for event in archive:
            checker.check(event)
            add_to(sealer, event)
            batch.append(event)
            if len(batch) == BATCH:
                flush()
                batch = []
        if batch:
            flush()
        found = archive.seal if isinstance(archive, Archive) else None
        proved = _check_origin(origin, sealer, found)
    except ArchiveError as exc:
        conn.rollback()
        raise ImportRefused(str(exc)) from exc
    except BaseException:
        conn.rollback()  # one transaction: a refused import leaves the database empty
        raise
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('events', 'position'), "
        "greatest((SELECT max(position) FROM events), 1))"
    )
    conn.commit()
    return _report(checker, sealer.events, proved, found)


def _report(checker: ChainChecker, events: int, proved: str, found: seal.Seal | None) -> Imported:
    rules = dict(sorted(checker.rules.items()))
    checked = [
        f"every stream's hash chain ({events} events, {len(checker.heads)} streams): versions, "
        "payloads, metadata and times",
        "each event's tenant: "
        + "; ".join(
            f"{n} under rule {rule}"
            + (
                " (hashed)"
                if rule == chain.CURRENT
                else " (the company column checked against the stream's hashed metadata)"
            )
            for rule, n in rules.items()
        ),
    ]
    not_checked = []
    if proved:
        checked.append(proved)
    else:
        carries = (
            f"it carries a signature (key id {found.key_id}) that was not checked"
            if found is not None
            else "it is unsigned"
        )
        not_checked.append(
            f"who made the file: {carries}, and it was imported as asked, so whoever could "
            "write it could have altered events and recomputed their hashes"
        )
    return Imported(
        events=events,
        streams=len(checker.heads),
        rules=rules,
        checked=checked,
        not_checked=not_checked,
    )
