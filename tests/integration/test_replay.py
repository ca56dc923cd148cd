"""The replay's fast path (projections/replay.py) and the swap by renaming (store/replacement.py):
what a rebuild leaves must be the live schema, grants and views, with the rows the live path
wrote; a new catch-up projector takes the same path; a killed replay's twins do not linger."""

from __future__ import annotations

import time
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.projections import rebuild, registry, runner
from tasktrack.projections.copier import Copier, CopyFailed
from tasktrack.projections.metrics import MetricsProjector
from tasktrack.service import Caller
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tasktrack.store.tables import metadata
from tests.integration.test_projections import ACTIVITY, _activity, _expected_activity, _workload


@pytest.fixture
def own(own_engine: Engine) -> Client:
    return Client(own_engine, Caller(company="acme", user="alice"))


# The status analytics view, without what grows with the clock (the current status's time).
DURATIONS = (
    "SELECT task_id, status, count(*) FROM task_status_intervals GROUP BY 1, 2 ORDER BY 1, 2"
)


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _schema(engine: Engine) -> list[tuple[Any, ...]]:
    """Every index of the public schema (name, table, definition) and every table's grants."""
    return _rows(
        engine,
        "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "UNION ALL SELECT c.relname, a.privilege_type, pg_get_userbyid(a.grantee) "
        "FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'public'::regnamespace "
        "ORDER BY 1, 2, 3",
    )


def _twins(engine: Engine) -> list[tuple[Any, ...]]:
    return _rows(
        engine,
        "SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_rebuild%' "
        "OR relname LIKE '%\\_\\_verify%' OR relname LIKE '%\\_\\_retired%'",
    )


def test_a_rebuild_swaps_in_the_same_schema_grants_views_and_rows(
    own: Client, own_engine: Engine
) -> None:
    _workload(own, tasks=40)
    with own_engine.begin() as conn:
        conn.execute(text("CREATE ROLE tasktrack_replay_reader NOLOGIN"))
        conn.execute(text("GRANT SELECT ON tasks, task_status_history TO tasktrack_replay_reader"))
    try:
        schema = _schema(own_engine)
        tables = [t for s in registry.PROJECTORS if s.mode == "inline" for t in s.tables]
        before = {t: _rows(own_engine, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in tables}
        durations = _rows(own_engine, DURATIONS)
        oids = _rows(own_engine, "SELECT 'tasks'::regclass::oid")
        assert len(before["tasks"]) == 39
        assert durations

        rebuild.rebuild(own_engine, list(registry.PROJECTORS))

        assert _rows(own_engine, "SELECT 'tasks'::regclass::oid") != oids  # swapped, not copied
        assert _schema(own_engine) == schema
        assert {t: _rows(own_engine, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in tables} == (
            before
        )
        # The views read the swapped-in tables (they were re-created, not left on the old ones).
        assert _rows(own_engine, DURATIONS) == durations
        with own_engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert _twins(own_engine) == []
    finally:
        with own_engine.begin() as conn:
            conn.execute(
                text("REVOKE ALL ON tasks, task_status_history FROM tasktrack_replay_reader")
            )
            conn.execute(text("DROP ROLE tasktrack_replay_reader"))


@pytest.mark.tampers
def test_twins_a_killed_replay_left_behind_are_dropped(own: Client, own_engine: Engine) -> None:
    ids = _workload(own, tasks=4)
    with own_engine.begin() as conn:
        # What a rebuild killed after filling a twin leaves: a twin with rows, and staging.
        conn.execute(text("CREATE TABLE tasks__rebuild AS SELECT * FROM tasks"))
        conn.execute(text("CREATE TABLE task_metrics__rebuild__staged (junk int)"))
        conn.execute(text("CREATE TABLE tasks__verify (junk int)"))
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    rebuild.rebuild(own_engine, list(registry.PROJECTORS))
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []
    assert _twins(own_engine) == []
    assert own.get_by_id(ids[2]).status == "completed"


def test_a_new_catch_up_projector_replays_in_stream_order_then_goes_on_in_batches(
    own: Client, own_engine: Engine
) -> None:
    """A projector whose checkpoint is gone (added by a later release) starts with the fast
    path (a swap: its tables are new ones), then applies later events batch by batch."""
    _workload(own, tasks=6)
    with own_engine.begin() as conn:
        conn.execute(text("DELETE FROM projector_checkpoints"))
        conn.execute(text("DELETE FROM activity_daily"))
        conn.execute(text("DELETE FROM activity_task_projects"))
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    oid = _rows(own_engine, "SELECT 'activity_daily'::regclass::oid")
    assert _caught_up(own_engine) == events
    swapped = _rows(own_engine, "SELECT 'activity_daily'::regclass::oid")
    assert swapped != oid
    assert _activity(own_engine) == _expected(own_engine)

    task = str(own.create(name="later", type="training", project="p1")["id"])
    own.started(task=task)
    assert _caught_up(own_engine) == 2  # batch by batch now: the same tables
    assert _rows(own_engine, "SELECT 'activity_daily'::regclass::oid") == swapped
    assert _activity(own_engine) == _expected(own_engine)
    assert rebuild.verify(own_engine, [ACTIVITY]) == []


def _expected(engine: Engine) -> dict[Any, Any]:
    return {k: v for k, v in _expected_activity(engine).items() if +v}


def _caught_up(engine: Engine) -> int:
    """catch_up (a fast start when from scratch) until the checkpoint is the log's end: the
    commit-safe horizon is cluster-wide, and another database's open transaction on the
    shared test server can hold a single call back."""
    applied = 0
    end = _rows(engine, "SELECT max(position) FROM events")[0][0]
    deadline = time.monotonic() + 30
    while True:
        applied += runner.catch_up(engine, ACTIVITY, fast_start=1)
        (status,) = runner.status(engine, [ACTIVITY])
        if status.position == end:
            return applied
        assert time.monotonic() < deadline, "the horizon never reached the end of the log"
        time.sleep(0.05)


def test_the_fast_path_caps_pairs_as_report_by_report_admission_does(
    own: Client, own_engine: Engine
) -> None:
    """Reports that bring more pairs than the cap, across a reset: the replay (one fold of the
    whole stream) must keep the pairs the live upserts admitted, in order of first appearance."""
    task = str(own.create(name="many pairs", type="training")["id"])
    own.started(task=task)
    for report in range(3):
        own.add_events(
            [
                {
                    "task": task,
                    "type": "training_stats_scalar",
                    "metric": f"m{report}{i % 5}",
                    "variant": f"v{i}",
                    "value": float(i * report),
                    "iter": report,
                }
                for i in range(12)
            ]
        )
        if report == 1:
            own.reset(task=task, force=True)
            own.started(task=task)
    spec = registry.BY_NAME["task_metrics"]
    small = registry.ProjectorSpec(
        name=spec.name,
        tables=spec.tables,
        mode=spec.mode,
        make=lambda t: MetricsProjector(t["task_metrics"], cap=7),
    )
    with own_engine.begin() as conn:
        conn.execute(text("DELETE FROM task_metrics"))
    # The live path's answer with the small cap: apply every event, report by report.
    with own_engine.connect() as sa_conn:
        conn = raw(sa_conn)
        conn.execute("LOCK TABLE events IN SHARE MODE")  # every event, whatever the horizon
        for record in eventlog.read_all(conn, limit=10_000, writers_locked_out=True):
            small.projector().apply(conn, [record], {})
        conn.commit()
    live = _rows(own_engine, "SELECT * FROM task_metrics ORDER BY 1, 2, 3")
    assert len(live) == 7
    assert rebuild.verify(own_engine, [small]) == []
    rebuild.rebuild(own_engine, [small])
    assert _rows(own_engine, "SELECT * FROM task_metrics ORDER BY 1, 2, 3") == live
    rebuild.rebuild(own_engine, [spec])  # the real cap again, for the fixture's check


def test_a_copy_that_fails_stops_the_replay_with_its_cause(own_engine: Engine) -> None:
    """The copier's thread reports its error at the next hand-over or at close; it never hangs
    the replay (a writer that died takes nothing from the queue again)."""
    with own_engine.connect() as sa_conn:
        conn = raw(sa_conn)
        copier = Copier(conn, chunk_rows=2)

        def fill_and_close() -> None:
            for i in range(100):  # the queue holds a few chunks: the error surfaces in add
                copier.add("no_such_table", ("a",), (i,))
            copier.close()

        with pytest.raises(CopyFailed, match="no_such_table"):
            fill_and_close()
        abandoned = Copier(conn, chunk_rows=2)
        abandoned.add("no_such_table", ("a",), (1,))
        abandoned.abandon()  # returns: nothing written, the thread gone
        assert not abandoned._thread.is_alive()


def test_the_copier_hands_over_by_bytes_too(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of large text (plot bodies) go in chunks of about CHUNK_BYTES, not of CHUNK_ROWS
    rows, and every row is written."""
    from tasktrack.projections import copier as copier_module

    monkeypatch.setattr(copier_module, "CHUNK_BYTES", 10_000)
    chunks: list[int] = []
    with own_engine.connect() as sa_conn:
        conn = raw(sa_conn)
        conn.execute("CREATE TABLE copied_by_bytes (a int, body text)")
        conn.commit()
        writer = Copier(conn)
        handed = writer._hand_over

        def counting(key: Any, rows: list[Any]) -> None:
            chunks.append(len(rows))
            handed(key, rows)

        monkeypatch.setattr(writer, "_hand_over", counting)
        for i in range(10):
            writer.add("copied_by_bytes", ("a", "body"), (i, "x" * 4_000))
        writer.close()
        count = conn.execute("SELECT count(*) FROM copied_by_bytes").fetchone()
        conn.execute("DROP TABLE copied_by_bytes")
        conn.commit()
    assert chunks == [3, 3, 3, 1]  # 12,000 bytes at every third row; the last one at close
    assert count == (10,)
