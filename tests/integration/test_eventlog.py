"""The event log against real PostgreSQL: append, read, hash chain, races, commit-safe reading."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from tasktrack.domain.errors import VersionConflict
from tasktrack.domain.events import TaskPinged
from tasktrack.domain.records import LOG_START, Checkpoint, Recorded
from tasktrack.store import chaincheck, eventlog
from tasktrack.store.engine import raw
from tests import factories, settle
from tests.integration import eventlog_support


@pytest.fixture(scope="module")
def engine(bare_log_engine: Engine) -> Engine:
    """These tests write bare events (no TaskCreated first): keep them out of the shared log."""
    return bare_log_engine


def _connect(engine: Engine, autocommit: bool = False) -> psycopg.Connection[Any]:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=autocommit)


@pytest.fixture
def conn(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """A connection on which every `_append` is a transaction of its own."""
    with _connect(engine, autocommit=True) as c:
        yield c


def _append(conn: psycopg.Connection[Any], stream: str, n: int = 1, **kw: Any) -> list[Any]:
    """Append n pings; in its own transaction when the connection has none open."""

    def go() -> list[Any]:
        return eventlog_support.append(
            conn,
            stream_id=stream,
            events=[factories.pinged() for _ in range(n)],
            metadata=factories.meta(request_id="r1"),
            recorded_at=factories.now(),
            **kw,
        )

    if conn.autocommit:
        with conn.transaction():
            return go()
    return go()


@pytest.mark.smoke
def test_append_returns_versions_and_positions_and_reads_back(
    conn: psycopg.Connection[Any],
) -> None:
    stream = factories.new_id()
    # Numbers jsonb would re-spell (1e16, -0.0, 1.50): the log keeps the bytes as written.
    created = factories.created(
        stream, runtime={"huge": 1e16, "tiny": 1.5e-7, "big": 2**70, "negzero": -0.0}
    )
    with conn.transaction():
        first = eventlog_support.append(
            conn,
            stream_id=stream,
            events=[created],
            metadata=factories.meta(),
            recorded_at=factories.now(),
            expected_version=0,
        )
    more = _append(conn, stream, 2, expected_version=1)
    assert [a.stream_version for a in first + more] == [1, 2, 3]
    positions = [a.position for a in first + more]
    assert positions == sorted(positions)

    recorded = eventlog.read_stream(conn, stream)
    assert [r.stream_version for r in recorded] == [1, 2, 3]
    assert recorded[0].event == created
    assert isinstance(recorded[1].event, TaskPinged)
    assert recorded[1].metadata.request_id == "r1"
    assert [r.hash for r in recorded] == [a.hash for a in first + more]
    assert chaincheck.check_stream(conn, stream) is None


def test_read_stream_up_to_a_version_or_a_time(conn: psycopg.Connection[Any]) -> None:
    stream = factories.new_id()
    t0 = factories.now()
    for i in range(4):
        with conn.transaction():
            eventlog_support.append(
                conn,
                stream_id=stream,
                events=[factories.pinged()],
                metadata=factories.meta(),
                recorded_at=t0 + timedelta(seconds=i),
            )
    assert [r.stream_version for r in eventlog.read_stream(conn, stream, to_version=2)] == [1, 2]
    until = t0 + timedelta(seconds=2)
    assert [r.stream_version for r in eventlog.read_stream(conn, stream, until=until)] == [1, 2, 3]


def test_expected_version_is_checked_before_writing(conn: psycopg.Connection[Any]) -> None:
    stream = factories.new_id()
    _append(conn, stream, 2)
    with pytest.raises(VersionConflict) as info:
        _append(conn, stream, expected_version=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    with pytest.raises(VersionConflict):
        _append(conn, stream, expected_version=0)
    assert len(eventlog.read_stream(conn, stream)) == 2


def test_hash_chain_detects_an_edited_payload(engine: Engine) -> None:
    """Tampering as a superuser would: disable the trigger, edit a payload."""
    stream = factories.new_id()
    with engine.begin() as sa_conn:
        _append(raw(sa_conn), stream, 3)
    with engine.begin() as sa_conn:
        c = raw(sa_conn)
        c.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        c.execute(
            "UPDATE events SET data = jsonb_set(data::jsonb, '{by}', '\"mallory\"')::json "
            "WHERE stream_id = %s AND stream_version = 2",
            (stream,),
        )
        c.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    with engine.connect() as sa_conn:
        broken = chaincheck.check_stream(raw(sa_conn), stream)
    assert broken is not None
    assert broken.stream_version == 2


def test_twenty_concurrent_appends_at_one_version_exactly_one_wins(engine: Engine) -> None:
    stream = factories.new_id()
    with engine.begin() as sa_conn:
        _append(raw(sa_conn), stream, 3)
    writers = 20
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer() -> None:
        with _connect(engine) as c:
            barrier.wait()
            try:
                with c.transaction():
                    _append(c, stream, expected_version=3)
                result = "ok"
            except VersionConflict:
                result = "conflict"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["conflict"] * (writers - 1) + ["ok"]
    with engine.connect() as sa_conn:
        versions = [r.stream_version for r in eventlog.read_stream(raw(sa_conn), stream)]
        assert chaincheck.check_stream(raw(sa_conn), stream) is None
    assert versions == [1, 2, 3, 4]


def _read_until_empty(conn: psycopg.Connection[Any], after: Checkpoint) -> list[Recorded]:
    out: list[Recorded] = []
    while batch := eventlog.read_all(conn, after, limit=2):
        out.extend(batch)
        after = batch[-1].checkpoint
    return out


def _naive_read(conn: psycopg.Connection[Any], after_position: int) -> list[int]:
    rows = conn.execute(
        "SELECT position FROM events WHERE position > %s ORDER BY position", (after_position,)
    )
    return [r[0] for r in rows]


class OutOfOrderCommit:
    """Two writers: `early` takes the lower position but commits after `late`."""

    def __init__(self, engine: Engine) -> None:
        self.early = _connect(engine)
        self.late = _connect(engine)
        self.reader = _connect(engine)
        self.reader.autocommit = True
        start = self.reader.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        assert start is not None
        self.start_position: int = start[0]
        self.start = Checkpoint(0, 0)

    def write_both_commit_late(self) -> tuple[int, int]:
        early_pos = _append(self.early, factories.new_id())[0].position
        late_pos = _append(self.late, factories.new_id())[0].position
        assert early_pos < late_pos
        self.late.commit()
        return early_pos, late_pos

    def commit_early(self) -> None:
        self.early.commit()

    def close(self) -> None:
        for c in (self.early, self.late, self.reader):
            c.close()


@pytest.fixture
def out_of_order(engine: Engine) -> Iterator[OutOfOrderCommit]:
    settle.horizon_reaches_end(engine)
    scenario = OutOfOrderCommit(engine)
    # Start from the end of the log as it is now, so other tests' events don't matter.
    tail = _read_until_empty(scenario.reader, LOG_START)
    scenario.start = tail[-1].checkpoint if tail else LOG_START
    yield scenario
    scenario.close()


@pytest.mark.smoke
def test_reader_never_passes_an_uncommitted_lower_position(out_of_order: OutOfOrderCommit) -> None:
    early_pos, late_pos = out_of_order.write_both_commit_late()

    # Between the two commits: the later event must not be returned ahead of the earlier one.
    seen = _read_until_empty(out_of_order.reader, out_of_order.start)
    assert [r.position for r in seen] == []

    out_of_order.commit_early()
    settle.horizon_passes(out_of_order.reader, late_pos)
    seen = _read_until_empty(out_of_order.reader, out_of_order.start)
    assert [r.position for r in seen] == [early_pos, late_pos]
    # And only once: reading on from the last checkpoint finds nothing more.
    assert _read_until_empty(out_of_order.reader, seen[-1].checkpoint) == []


def test_a_naive_position_reader_loses_the_event(out_of_order: OutOfOrderCommit) -> None:
    """The same scenario against `position > last`: it skips the early event for good.

    This is the failure the commit-safe reader exists to prevent; it shows the scenario above
    can tell the two readers apart.
    """
    early_pos, late_pos = out_of_order.write_both_commit_late()
    seen = _naive_read(out_of_order.reader, out_of_order.start_position)
    assert seen == [late_pos]
    out_of_order.commit_early()
    assert _naive_read(out_of_order.reader, seen[-1]) == []
    assert early_pos not in seen


def test_locking_a_stream_after_a_write_is_refused(conn: psycopg.Connection[Any]) -> None:
    """A transaction that already wrote holds a transaction id; locking another stream then
    could order its event ahead of one appended meanwhile. The log refuses."""
    first, second = factories.new_id(), factories.new_id()

    def write_two_streams() -> None:
        with conn.transaction():
            _append(conn, first)
            _append(conn, second)

    with pytest.raises(eventlog.LockOrderError):
        write_two_streams()
    assert eventlog.read_stream(conn, first) == []  # the refused transaction wrote nothing


def test_stream_order_holds_for_a_writer_of_several_streams(engine: Engine) -> None:
    """A command writing two streams locks both first; if it waits for one of them, its events
    still come after the ones appended while it waited."""
    stream, other = factories.new_id(), factories.new_id()
    with engine.begin() as sa_conn:
        _append(raw(sa_conn), stream)
    settle.horizon_reaches_end(engine)
    with engine.connect() as sa_conn:
        tail = _read_until_empty(raw(sa_conn), LOG_START)
    start = tail[-1].checkpoint if tail else LOG_START

    holder = _connect(engine)
    writer = _connect(engine)
    try:
        _append(holder, stream)  # version 2, lock held until commit
        done = threading.Event()

        def write_both() -> None:
            eventlog.lock_streams(writer, [other, stream])  # waits for `holder`
            for s in (other, stream):
                eventlog_support.append(
                    writer,
                    stream_id=s,
                    events=[factories.pinged()],
                    metadata=factories.meta(),
                    recorded_at=factories.now(),
                    head=eventlog_support.read_head(writer, s),
                )
            writer.commit()
            done.set()

        thread = threading.Thread(target=write_both)
        thread.start()
        assert not done.wait(0.5)  # blocked on the stream lock
        holder.commit()
        thread.join()
        assert done.is_set()
    finally:
        holder.close()
        writer.close()

    settle.horizon_reaches_end(engine)
    with engine.connect() as sa_conn:
        seen = [r for r in _read_until_empty(raw(sa_conn), start) if r.stream_id == stream]
        assert chaincheck.check_stream(raw(sa_conn), stream) is None
    assert [r.stream_version for r in seen] == [2, 3]


def test_commit_order_is_numeric_across_digit_lengths(new_database: Any) -> None:
    """Transaction ids 9 and 10: read in numeric order (the text "10" sorts before "9")."""
    from tasktrack.domain import chain, codec
    from tasktrack.store import migrate
    from tasktrack.store.engine import make_engine

    engine = make_engine(new_database(), pool_size=1)
    try:
        migrate.upgrade(engine)
        with engine.begin() as sa_conn:
            c = raw(sa_conn)
            for tx, stream in ((10, "s-late"), (9, "s-early")):
                event = factories.pinged()
                data, meta = codec.encode(event), msgspec_meta()
                at = factories.now()
                digest = chain.link(
                    b"",
                    chain.event_bytes(
                        stream_id=stream,
                        stream_version=1,
                        type_name="TaskPinged",
                        schema_version=1,
                        data=data,
                        metadata=meta,
                        recorded_at=at,
                        company="co",
                    ),
                )
                c.execute(
                    "INSERT INTO events (tx, stream_id, stream_version, chain, company, type, "
                    "schema_version, data, metadata, recorded_at, hash) "
                    "VALUES (%s::text::xid8, %s, 1, 2, 'co', 'TaskPinged', 1, %s::json, "
                    "%s::json, %s, %s)",
                    (str(tx), stream, data.decode(), meta.decode(), at, digest),
                )
        with engine.connect() as sa_conn:
            seen = eventlog.read_all(raw(sa_conn), LOG_START, limit=10)
            assert [(r.tx, r.stream_id) for r in seen] == [(9, "s-early"), (10, "s-late")]
            assert chaincheck.check_stream(raw(sa_conn), "s-early") is None
            sa_conn.rollback()
    finally:
        engine.dispose()


def msgspec_meta() -> bytes:
    import msgspec

    return msgspec.json.encode(factories.meta())


def test_a_byte_budget_cuts_batches_without_losing_or_repeating_events(
    conn: psycopg.Connection[Any],
) -> None:
    """read_all(max_bytes=B): every batch is a prefix of what the count limit alone returns,
    whose events before the last stay under B (so one larger than B comes alone), and batch
    after batch the whole log is read in order exactly once."""
    (tx, position) = conn.execute(
        "SELECT coalesce(max(tx), '0')::text, coalesce(max(position), 0) FROM events"
    ).fetchone() or ("0", 0)
    start = Checkpoint(tx=int(tx), position=int(position))
    stream = factories.new_id()
    for i, width in enumerate([3000, 3000, 6000, 10, 10, 30, 30, 4000, 900, 1, 2000]):
        with conn.transaction():
            eventlog_support.append(
                conn,
                stream_id=stream,
                events=[factories.pinged(by="u" * width)],
                metadata=factories.meta(),
                recorded_at=factories.now(),
                expected_version=i,
            )
    size = dict(
        conn.execute(
            "SELECT position, octet_length(data::text) FROM events WHERE stream_id = %s",
            (stream,),
        ).fetchall()
    )
    settle.horizon_passes(conn, max(size))  # a transaction elsewhere on the server can hold it
    budget, limit = 5000, 4
    everything = [r.position for r in eventlog.read_all(conn, start, limit=1000)]
    assert everything == sorted(size)
    batches: list[list[int]] = []
    cuts = 0
    after = start
    while batch := eventlog.read_all(conn, after, limit=limit, max_bytes=budget):
        positions = [r.position for r in batch]
        unbudgeted = [r.position for r in eventlog.read_all(conn, after, limit=limit)]
        assert positions == unbudgeted[: len(positions)]
        assert sum(size[p] for p in positions[:-1]) < budget
        if len(positions) < len(unbudgeted):  # cut by the budget: the next would pass it
            assert sum(size[p] for p in positions) >= budget
            cuts += 1
        batches.append(positions)
        after = batch[-1].checkpoint
    assert [p for positions in batches for p in positions] == everything
    assert cuts >= 2
    big = next(p for p in everything if size[p] > budget)
    assert [big] in batches


def test_a_writer_that_bypasses_the_stream_lock_is_refused_by_the_key(
    conn: psycopg.Connection[Any],
) -> None:
    """The last line of defence, as production meets it: an append at a version already taken
    (here with a stale head and no lock) fails at the commit with the log's key, which the
    service recognises (eventlog.is_stream_clash), retries, and answers 409 (StreamClash)."""
    stream = factories.new_id()
    _append(conn, stream, 2)
    stale = eventlog_support.read_head(conn, stream)
    _append(conn, stream)
    with pytest.raises(psycopg.errors.UniqueViolation) as refused:
        _append(conn, stream, head=stale)
    assert eventlog.is_stream_clash(refused.value)
    assert [r.stream_version for r in eventlog.read_stream(conn, stream)] == [1, 2, 3]


def test_a_conditional_append_is_checked_with_the_production_check(
    conn: psycopg.Connection[Any],
) -> None:
    """eventlog.check_expected is what the service runs on a command's expected_version."""
    with pytest.raises(VersionConflict):
        eventlog.check_expected("s", 2, 3)
    eventlog.check_expected("s", None, 3)
    eventlog.check_expected("s", 3, 3)


def test_tenants_are_every_company_of_the_log_found_by_probing_the_index(
    new_database: Any,
) -> None:
    """The loose index scan finds each company once, the empty one and ones that sort oddly in
    the database's collation included, and agrees with a plain DISTINCT over the log."""
    from tasktrack.store import migrate
    from tasktrack.store.engine import make_engine

    engine = make_engine(new_database(), pool_size=1)
    try:
        migrate.upgrade(engine)
        companies = ["", "a", "a b", "A", "b", "zz", "ä", "a-1"]
        with _connect(engine, autocommit=True) as c:
            assert eventlog.tenants(c) == []
            for i, company in enumerate(companies * 3):
                with c.transaction():
                    eventlog_support.append(
                        c,
                        stream_id=f"t-{i}",
                        events=[factories.pinged()],
                        metadata=factories.meta(company=company),
                        recorded_at=factories.now(),
                    )
            found = eventlog.tenants(c)
            rows = c.execute("SELECT DISTINCT company FROM events").fetchall()
        assert found == sorted(companies)
        assert found == sorted(str(r[0]) for r in rows)
    finally:
        engine.dispose()
