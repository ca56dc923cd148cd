"""The hash chain covers the tenant (issue 22): an export edited in its company fields, or
forged with recomputed hashes, moves nothing to another tenant; projections take the tenant
from the stream; streams written under the old rule still verify and continue under the new."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain import chain, codec
from tasktrack.domain.records import Metadata
from tasktrack.projections import rebuild, registry
from tasktrack.queries import audit
from tasktrack.service import Caller
from tasktrack.store import archive, archive_files, migrate
from tasktrack.store.archive_files import ArchivedEvent
from tasktrack.store.engine import make_engine, raw
from tests import factories, settle
from tests.chains import rechain_export

KEY = b"an operator's export key, 32+ bytes long"
SCALAR = "training_stats_scalar"


@pytest.fixture
def work(own_engine: Engine) -> dict[str, str]:
    """A task of acme's and one of globex's, each with status changes and metrics."""
    ids = {}
    for company in ("acme", "globex"):
        client = Client(own_engine, Caller(company=company, user=f"{company}-user"))
        task = str(client.create(name=f"{company} secret", type="training")["id"])
        client.started(task=task)
        client.add_events(
            [{"task": task, "type": SCALAR, "metric": "loss", "value": 0.5, "iter": 1}]
        )
        client.completed(task=task)
        ids[company] = task
    settle.horizon_reaches_end(own_engine)
    return ids


def _export(engine: Engine, key: bytes | None = None) -> tuple[list[ArchivedEvent], str]:
    with engine.connect() as conn:
        events = list(archive.read_log(raw(conn)))
        conn.rollback()
    digest = archive_files.write_jsonl(events, _Sink(), key).digest
    return events, digest


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


def _write(path: Path, events: list[ArchivedEvent], key: bytes | None = None) -> Path:
    with path.open("wb") as f:
        archive_files.write_jsonl(events, f, key)
    return path


@pytest.fixture
def target(new_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(new_database(), pool_size=2)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _import(engine: Engine, path: Path, origin: archive.Origin) -> archive.Imported:
    with engine.connect() as conn:
        return archive.import_events(raw(conn), archive_files.read_archive(path), origin=origin)


def _count(engine: Engine, table: str = "events") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _moved(events: list[ArchivedEvent], task: str, to: str) -> list[ArchivedEvent]:
    """The review's first proof: only the exported `company` fields of a stream edited."""
    return [msgspec.structs.replace(e, company=to) if e.stream_id == task else e for e in events]


@pytest.mark.parametrize("rule", chain.RULES)
def test_an_export_edited_only_in_its_company_fields_is_refused(
    own_engine: Engine, work: dict[str, str], target: Engine, tmp_path: Path, rule: int
) -> None:
    events, _ = _export(own_engine)
    if rule == chain.LEGACY:
        # As exported before migration 0011: hashed under rule 1, no "chain" field at all.
        events = rechain_export(events, rule=chain.LEGACY)
    legacy = _write(tmp_path / "as-is.jsonl", events)
    if rule == chain.LEGACY:
        legacy.write_bytes(legacy.read_bytes().replace(b',"chain":1}', b"}"))
    edited = _write(tmp_path / "edited.jsonl", _moved(events, work["acme"], "globex"))
    if rule == chain.LEGACY:
        edited.write_bytes(edited.read_bytes().replace(b',"chain":1}', b"}"))
        assert b'"chain"' not in edited.read_bytes()
    with pytest.raises(archive.ImportRefused, match="the company column says 'globex'"):
        _import(target, edited, archive.Origin(unsigned=True))
    assert _count(target) == 0  # a refused import writes nothing
    done = _import(target, legacy, archive.Origin(unsigned=True))  # the file as exported
    assert done.rules == {rule: len(events)}
    rules: Counter[int] = Counter()
    with target.connect() as conn:
        assert audit.verify_chains(raw(conn), rules=rules) == []
    assert rules == {rule: len(events)}


def _forged(events: list[ArchivedEvent], task: str) -> list[ArchivedEvent]:
    """The review's second proof: a stream moved to another tenant everywhere it is named
    (creation payload, metadata, column), every hash recomputed with the project's own code."""
    return rechain_export(
        msgspec.structs.replace(
            e,
            company="globex",
            data=msgspec.Raw(bytes(e.data).replace(b'"acme"', b'"globex"')),
            metadata=msgspec.Raw(bytes(e.metadata).replace(b'"acme"', b'"globex"')),
        )
        if e.stream_id == task
        else e
        for e in events
    )


def test_a_rehashed_export_whose_creation_names_another_tenant_is_refused(
    own_engine: Engine, work: dict[str, str], target: Engine, tmp_path: Path
) -> None:
    """The tenant a creation names in its payload is the one the read models fold: even with
    every hash recomputed, it must be the one the metadata and the column name."""
    events, _ = _export(own_engine)
    payload_only = rechain_export(
        msgspec.structs.replace(e, data=msgspec.Raw(bytes(e.data).replace(b'"acme"', b'"x"')))
        if e.stream_id == work["acme"]
        else e
        for e in events
    )
    path = _write(tmp_path / "payload.jsonl", payload_only)
    with pytest.raises(archive.ImportRefused, match="the creation names tenant 'x'"):
        _import(target, path, archive.Origin(unsigned=True))
    assert _count(target) == 0


def test_a_forged_export_is_refused_by_its_signature_and_its_digest(
    own_engine: Engine, work: dict[str, str], target: Engine, tmp_path: Path
) -> None:
    events, digest = _export(own_engine, KEY)
    signed = _write(tmp_path / "signed.jsonl", events, KEY)
    seal_line = signed.read_bytes().splitlines()[-1]
    forged = _forged(events, work["acme"])
    kept_seal = _write(tmp_path / "kept-seal.jsonl", forged)
    kept_seal.write_bytes(kept_seal.read_bytes() + seal_line + b"\n")
    no_seal = _write(tmp_path / "no-seal.jsonl", forged)
    other_key = _write(tmp_path / "other-key.jsonl", forged, b"the forger's own key, 32+ bytes!")

    for path, says in (
        (kept_seal, "does not match the events"),
        (no_seal, "not signed"),
        (other_key, "another key"),
    ):
        with pytest.raises(archive.ImportRefused, match=says):
            _import(target, path, archive.Origin(key=KEY))
        assert _count(target) == 0
    with pytest.raises(archive.ImportRefused, match="digest"):
        _import(target, no_seal, archive.Origin(digest=digest))
    assert _count(target) == 0

    # Without a key or digest the chain alone cannot tell: it goes in only when asked for,
    # and the import says plainly what it did not check.
    done = _import(target, no_seal, archive.Origin(unsigned=True))
    assert done.not_checked
    assert "who made the file: it is unsigned" in done.not_checked[0]


def test_a_signed_export_imports_with_its_key_or_its_digest(
    own_engine: Engine, work: dict[str, str], new_database: Callable[[], str], tmp_path: Path
) -> None:
    events, digest = _export(own_engine, KEY)
    path = tmp_path / "signed.parquet"
    assert archive_files.write_parquet(events, path, KEY).digest == digest
    for origin in (archive.Origin(key=KEY), archive.Origin(digest=digest)):
        engine = make_engine(new_database(), pool_size=2)
        try:
            migrate.upgrade(engine)
            done = _import(engine, path, origin)
            assert done.events == len(events)
            assert done.not_checked == []
            assert ("signature" if origin.key else "digest") in done.checked[-1]
        finally:
            engine.dispose()


@pytest.mark.tampers
def test_projections_take_the_tenant_from_the_stream_not_the_column(
    own_engine: Engine, work: dict[str, str]
) -> None:
    victim = work["acme"]
    with own_engine.begin() as conn:
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        conn.execute(
            text("UPDATE events SET company = 'globex' WHERE stream_id = :s"), {"s": victim}
        )
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))
    with own_engine.connect() as conn:
        breaks = audit.verify_chains(raw(conn))
        conn.rollback()
    assert [(b.stream_id, b.stream_version) for b in breaks] == [(victim, 1)]
    assert "company column says 'globex'" in breaks[0].reason

    rebuild.rebuild(own_engine, list(registry.PROJECTORS))
    with own_engine.connect() as conn:
        for table, key in (("tasks", "id"), ("task_metrics", "task_id")):
            tenant = conn.execute(
                text(f"SELECT DISTINCT company FROM {table} WHERE {key} = :s"), {"s": victim}
            ).scalars()
            assert list(tenant) == ["acme"], table
        history = conn.execute(
            text("SELECT DISTINCT company FROM task_status_history WHERE task_id = :s"),
            {"s": victim},
        ).scalars()
        assert list(history) == ["acme"]
        daily = conn.execute(
            text("SELECT company, sum(tasks_created) FROM activity_daily GROUP BY company")
        ).all()
        assert sorted(daily) == [("acme", 1), ("globex", 1)]
    with own_engine.connect() as conn, pytest.raises(archive.ExportRefused, match=victim):
        list(archive.read_log(raw(conn), company="globex"))


def test_a_stream_begun_under_rule_1_verifies_and_continues_under_rule_2(
    new_database: Callable[[], str],
) -> None:
    """A log written before migration 0011 keeps verifying under rule 1 after it, and new
    events of its streams are hashed under rule 2; migrating back is refused once they exist."""
    engine = make_engine(new_database(), pool_size=2)
    try:
        migrate.upgrade(engine, "0010")
        task = factories.new_id()
        meta = msgspec.json.encode(Metadata(user="alice", company="acme"))
        previous = chain.GENESIS
        with engine.begin() as conn:
            for version, event in enumerate(
                [factories.created(task, company="acme"), factories.pinged("alice")], start=1
            ):
                data, at = codec.encode(event), factories.now()
                previous = chain.link(
                    previous,
                    chain.event_bytes(
                        stream_id=task,
                        stream_version=version,
                        type_name=codec.type_of(event),
                        schema_version=1,
                        data=data,
                        metadata=meta,
                        recorded_at=at,
                        company="acme",
                        rule=chain.LEGACY,
                    ),
                )
                raw(conn).execute(
                    "INSERT INTO events (stream_id, stream_version, company, type, "
                    "schema_version, data, metadata, recorded_at, hash) "
                    "VALUES (%s, %s, 'acme', %s, 1, %s::json, %s::json, %s, %s)",
                    (
                        task,
                        version,
                        codec.type_of(event),
                        data.decode(),
                        meta.decode(),
                        at,
                        previous,
                    ),
                )
        migrate.upgrade(engine)
        rebuild.rebuild(engine, list(registry.PROJECTORS))  # the task row, from the old log
        Client(engine, Caller(company="acme", user="alice")).started(task=task)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT chain FROM events WHERE stream_id = :s ORDER BY stream_version"),
                {"s": task},
            ).scalars()
            assert list(rows) == [chain.LEGACY, chain.LEGACY, chain.CURRENT]
            rules: Counter[int] = Counter()
            assert audit.verify_chains(raw(conn), rules=rules) == []
            conn.rollback()
        assert rules == {chain.LEGACY: 2, chain.CURRENT: 1}
        with pytest.raises(RuntimeError, match="1 events are hashed under chain rule 2"):
            migrate.downgrade(engine, "0010")
        assert migrate.status(engine).current == migrate.head_revision()
    finally:
        engine.dispose()
