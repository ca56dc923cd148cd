"""Tampering as a superuser would, and the audit catching each kind (issue: audit verify,
anchors, replay); plus export/import round trips with hash verification."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry
from tasktrack.queries import audit
from tasktrack.service import Caller
from tasktrack.store import archive, archive_files, chaincheck, migrate
from tasktrack.store.engine import make_engine, raw
from tests import settle
from tests.chains import rechained

UNSIGNED = archive.Origin(unsigned=True)


@pytest.fixture
def tasks(own_engine: Engine) -> list[str]:
    client = Client(own_engine, Caller(company="acme", user="alice"))
    ids = []
    for i in range(3):
        task = str(client.create(name=f"audited {i}", type="training")["id"])
        client.enqueue(task=task, queue_name="q")
        client.started(task=task)
        client.completed(task=task)
        ids.append(task)
    return ids


def _tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        for sql in statements:
            conn.execute(text(sql))
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))


def _breaks(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = audit.verify_chains(raw(conn))
        conn.rollback()
    return {b.stream_id: b.stream_version for b in found}


def _anchor(engine: Engine) -> audit.Anchor:
    """An anchor that covers the whole log: while other sessions of the shared test server
    hold old transactions open, the commit-safe horizon may lag behind for a moment."""
    for _ in range(200):
        with engine.connect() as conn:
            taken = audit.anchor(raw(conn))
            last = conn.execute(text("SELECT max(position) FROM events")).scalar_one()
            conn.rollback()
        if taken.position == last:
            return taken
        time.sleep(0.05)
    raise AssertionError("the commit-safe horizon never reached the end of the log")


def _anchor_problem(engine: Engine, anchor: audit.Anchor) -> str | None:
    with engine.connect() as conn:
        problem = audit.check_anchor(raw(conn), anchor)
        conn.rollback()
    return problem


def test_an_untouched_log_verifies(own_engine: Engine, tasks: list[str]) -> None:
    anchor = _anchor(own_engine)
    assert _breaks(own_engine) == {}
    assert _anchor_problem(own_engine, anchor) is None
    assert anchor.streams == 4  # three tasks and the queue


@pytest.mark.tampers
def test_an_edited_payload_is_caught(own_engine: Engine, tasks: list[str]) -> None:
    _tamper(
        own_engine,
        "UPDATE events SET data = replace(data::text, 'audited 1', "
        f"'innocent')::json WHERE stream_id = '{tasks[1]}' AND stream_version = 1",
    )
    assert _breaks(own_engine) == {tasks[1]: 1}


@pytest.mark.tampers
def test_edited_metadata_is_caught(own_engine: Engine, tasks: list[str]) -> None:
    _tamper(
        own_engine,
        "UPDATE events SET metadata = replace(metadata::text, 'alice', "
        f"'mallory')::json WHERE stream_id = '{tasks[0]}' AND stream_version = 3",
    )
    assert _breaks(own_engine) == {tasks[0]: 3}


@pytest.mark.tampers
def test_a_deleted_event_is_caught(own_engine: Engine, tasks: list[str]) -> None:
    _tamper(own_engine, f"DELETE FROM events WHERE stream_id = '{tasks[2]}' AND stream_version = 2")
    assert _breaks(own_engine) == {tasks[2]: 3}  # version 2 is missing before 3


@pytest.mark.tampers
def test_reordered_events_are_caught(own_engine: Engine, tasks: list[str]) -> None:
    t = tasks[0]
    _tamper(
        own_engine,
        f"UPDATE events SET stream_version = 100 WHERE stream_id = '{t}' AND stream_version = 2",
        f"UPDATE events SET stream_version = 2 WHERE stream_id = '{t}' AND stream_version = 3",
        f"UPDATE events SET stream_version = 3 WHERE stream_id = '{t}' AND stream_version = 100",
    )
    assert _breaks(own_engine) == {t: 2}


@pytest.mark.tampers
def test_a_removed_last_event_and_a_removed_stream_need_the_anchor(
    own_engine: Engine, tasks: list[str]
) -> None:
    anchor = _anchor(own_engine)
    _tamper(
        own_engine,
        f"DELETE FROM events WHERE stream_id = '{tasks[0]}' AND stream_version = "
        f"(SELECT max(stream_version) FROM events WHERE stream_id = '{tasks[0]}')",
    )
    assert _breaks(own_engine) == {}  # every remaining chain still holds...
    assert _anchor_problem(own_engine, anchor) is not None  # ...but the anchor does not

    fresh = _anchor(own_engine)
    _tamper(own_engine, f"DELETE FROM events WHERE stream_id = '{tasks[1]}'")
    assert _breaks(own_engine) == {}
    problem = _anchor_problem(own_engine, fresh)
    assert problem is not None
    assert "4 streams then, 3 now" in problem


def _rechain(engine: Engine, stream_id: str) -> None:
    """Recompute a stream's hashes from its rows as stored: what a careful forger would do."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT {chaincheck.RAW_COLUMNS} FROM events WHERE stream_id = :s "
                "ORDER BY stream_version"
            ),
            {"s": stream_id},
        ).all()
    fixes = [{"s": stream_id, "v": version, "h": digest} for version, digest in rechained(rows)]
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete"))
        conn.execute(
            text("UPDATE events SET hash = :h WHERE stream_id = :s AND stream_version = :v"), fixes
        )
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update_delete"))


@pytest.mark.tampers
def test_a_stream_rewritten_with_consistent_hashes_needs_the_anchor(
    own_engine: Engine, tasks: list[str]
) -> None:
    anchor = _anchor(own_engine)
    victim = tasks[1]
    _tamper(
        own_engine,
        "UPDATE events SET data = replace(data::text, 'audited 1', 'innocent')::json, "
        "metadata = replace(metadata::text, 'alice', 'mallory')::json "
        f"WHERE stream_id = '{victim}'",
    )
    assert _breaks(own_engine) == {victim: 1}  # as rewritten, the chain breaks at once...
    _rechain(own_engine, victim)
    assert _breaks(own_engine) == {}  # ...with its hashes recomputed, every chain holds again
    with own_engine.connect() as conn:
        users = conn.execute(
            text("SELECT DISTINCT metadata->>'user' FROM events WHERE stream_id = :s"),
            {"s": victim},
        ).scalars()
        assert set(users) == {"mallory"}  # the forgery is in place
    problem = _anchor_problem(own_engine, anchor)
    assert problem is not None  # but a head hash differs from the one the anchor saw
    assert "4 streams then, 4 now" in problem


def test_events_after_the_anchor_do_not_disturb_it(own_engine: Engine, tasks: list[str]) -> None:
    anchor = _anchor(own_engine)
    Client(own_engine, Caller(company="acme", user="alice")).ping(task=tasks[0])
    assert _anchor_problem(own_engine, anchor) is None


def test_replay_tells_the_timeline_from_the_log_alone(own_engine: Engine, tasks: list[str]) -> None:
    Client(own_engine, Caller(company="acme", user="alice")).delete(task=tasks[0], force=True)
    with own_engine.connect() as conn:
        entries = audit.timeline(raw(conn), tasks[0])
        conn.rollback()
    assert [(e.from_status, e.to_status) for e in entries] == [
        ("created", "queued"),
        ("queued", "in_progress"),
        ("in_progress", "completed"),
    ]
    assert all(e.user == "alice" and len(e.hash) == 64 for e in entries)


ROUND_TRIP_TABLES = ("events", "tasks", "task_status_history", "queues", "task_metrics", "projects")


def _with_a_project_and_metrics(engine: Engine) -> None:
    """A project, and a task in it reporting scalars (two metrics, two variants, a NaN)."""
    client = Client(engine, Caller(company="acme", user="alice"))
    project = str(client.create_project(name="vision", description="cnn sweeps")["id"])
    task = str(client.create(name="resnet", type="training", project=project)["id"])
    client.started(task=task)
    client.add_events(
        [
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": metric,
                "variant": variant,
                "value": value,
                "iter": i,
            }
            for i, (metric, variant, value) in enumerate(
                [
                    ("loss", "train", 0.9),
                    ("loss", "val", 1.1),
                    ("loss", "train", 0.4),
                    ("acc", "val", 0.7),
                    ("loss", "val", float("nan")),
                    ("acc", "val", 0.8),
                ]
            )
        ]
    )
    client.add_events(
        [
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": "loss",
                "variant": "train",
                "value": 0.2,
                "iter": 10,
            }
        ]
    )
    client.completed(task=task)
    with engine.connect() as conn:
        rows = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("projects", "task_metrics")
        }
    assert rows == {"projects": 1, "task_metrics": 3}  # what the round trip must carry


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_export_import_round_trip(
    own_engine: Engine,
    tasks: list[str],
    new_database: Callable[[], str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _with_a_project_and_metrics(own_engine)
    path = tmp_path / f"log{suffix}"
    settle.horizon_reaches_end(own_engine)
    with own_engine.connect() as conn:
        events = archive.read_log(raw(conn))
        if suffix == ".parquet":
            exported = archive_files.write_parquet(events, path).events
        else:
            with path.open("wb") as f:
                exported = archive_files.write_jsonl(events, f).events
        conn.rollback()
    target = make_engine(new_database(), pool_size=2)
    try:
        migrate.upgrade(target)
        with target.connect() as conn:
            imported = archive.import_events(
                raw(conn), archive_files.read_archive(path), origin=UNSIGNED
            )
        assert imported.events == exported
        rebuild.rebuild(target, list(registry.PROJECTORS))
        assert rebuild.verify(target, list(registry.PROJECTORS)) == []
        assert _breaks(target) == {}
        for table in ROUND_TRIP_TABLES:
            assert _table_digest(target, table) == _table_digest(own_engine, table), table
    finally:
        target.dispose()


def _table_digest(engine: Engine, table: str) -> str:
    columns = (
        "position, stream_id, stream_version, company, type, schema_version, "
        "data::text, metadata::text, recorded_at, hash"
        if table == "events"
        else "t.*"
    )
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    f"SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) "
                    f"FROM (SELECT {columns} FROM {table} t) r"
                )
            ).scalar_one()
        )


def test_import_refuses_an_altered_or_partial_export_or_a_used_database(
    own_engine: Engine, tasks: list[str], new_database: Callable[[], str], tmp_path: Path
) -> None:
    path = tmp_path / "log.jsonl"
    settle.horizon_reaches_end(own_engine)
    with own_engine.connect() as conn, path.open("wb") as f:
        archive_files.write_jsonl(archive.read_log(raw(conn)), f)
        conn.rollback()
    lines = path.read_text().splitlines()
    altered = tmp_path / "altered.jsonl"
    altered.write_text("\n".join(line.replace("audited 2", "audited 9") for line in lines))
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(lines[3:]))
    target = make_engine(new_database(), pool_size=2)
    try:
        migrate.upgrade(target)
        for bad, says in ((altered, "hash does not match"), (partial, "is missing")):
            with target.connect() as conn, pytest.raises(archive.ImportRefused, match=says):
                archive.import_events(raw(conn), archive_files.read_archive(bad), origin=UNSIGNED)
            with target.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            assert count == 0  # a refused import writes nothing
    finally:
        target.dispose()
    with own_engine.connect() as conn, pytest.raises(archive.ImportRefused, match="empty"):
        archive.import_events(raw(conn), archive_files.read_archive(path), origin=UNSIGNED)
