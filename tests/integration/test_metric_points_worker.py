"""The metric points write that a tenant's Citus worker runs (metric_points_sql.worker_sql,
two statements through `tasktrack_run_pinned`) leaves the rows the single-node statement
(write_sql) leaves: both run here on one PostgreSQL, one task each, the same reports sent to
both. Its phases on a cluster: tests/e2e/test_citus_phases.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.projections import metric_points, pinning
from tasktrack.projections.metric_points_sql import worker_sql
from tasktrack.store.engine import raw

SCALAR = "training_stats_scalar"
RESET = "reset"
_WORKER = worker_sql("task_metric_points", "task_metric_series", "task_runs")

# No subnormals: task_metrics' mean of them can fall below float8's range, which PostgreSQL
# refuses on both paths (tests/integration/test_metrics.py keeps out of it too).
values = st.sampled_from(
    [0.0, 1.0, -2.5, 0.1, 1e300, -1e300, 1e-300, float("nan"), float("inf"), float("-inf")]
)
point = st.tuples(
    st.sampled_from(["loss", "acc"]),
    st.sampled_from(["", "train"]),
    st.one_of(st.none(), st.integers(-2, 6)),
    values,
)
# A step: a report (its points, in order: repeats and earlier iterations included) or a reset.
steps = st.lists(
    st.one_of(st.lists(point, min_size=1, max_size=8), st.just(RESET)), min_size=1, max_size=6
)


def _task(client: Client) -> str:
    task = str(client.create(name="points", type="training")["id"])
    client.started(task=task)
    return task


def _report(task: str, points: list[tuple[str, str, int | None, float]]) -> list[dict[str, Any]]:
    events = []
    for n, (metric, variant, it, value) in enumerate(points):
        event = {"task": task, "type": SCALAR, "metric": metric, "variant": variant,
                 "value": value, "timestamp": 1000 + n}  # fmt: skip
        if it is not None:
            event["iter"] = it
        events.append(event)
    return events


@contextlib.contextmanager
def _as_on_a_worker(taken: list[str]) -> Iterator[None]:
    """pinning.run as on a distributed layout (through the function, the delegated form),
    recording the statements the function was given."""
    original = pinning.run

    def run(conn: psycopg.Connection[Any], company: str, statement: str,
            params: Any, *, live: bool, delegated: str | None = None) -> None:  # fmt: skip
        if delegated is not None and live:
            taken.append(delegated)
        original(conn, company, statement, params, live=live, delegated=delegated)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pinning, "delegating", lambda conn: True)
        mp.setattr(pinning, "run", run)
        yield


def _rows(engine: Engine, company: str, task: str) -> list[tuple[Any, ...]]:
    """A task's series and points, as text (NaN compares equal), its run row too."""
    with engine.connect() as conn:
        found = (
            raw(conn)
            .execute(
                "SELECT s.run, s.metric, s.variant, s.points, s.first_iter, s.last_iter, p.iter, "
                "p.value::text, p.timestamp, p.finite_n, p.finite_sum::text "
                "FROM task_metric_series s JOIN task_metric_points p "
                "ON p.company = s.company AND p.series_id = s.series_id "
                "WHERE s.company = %s AND s.task_id = %s ORDER BY 1, 2, 3, 7",
                (company, task),
            )
            .fetchall()
        )
        run = (
            raw(conn)
            .execute(
                "SELECT run FROM task_runs WHERE company = %s AND task_id = %s", (company, task)
            )
            .fetchall()
        )
    return [tuple(r) for r in found] + [("run", *r) for r in run]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps, chunk=st.sampled_from([3, metric_points.CHUNK_POINTS]))
def test_the_workers_form_leaves_the_single_node_rows(
    client: Client, engine: Engine, company: str, plan: list[Any], chunk: int
) -> None:
    plain, worker = _task(client), _task(client)
    taken: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        # A small chunk: a report's later chunk repeats iterations an earlier one wrote.
        mp.setattr(metric_points, "CHUNK_POINTS", chunk)
        for step in plan:
            for task in (plain, worker):
                if step == RESET:
                    client.reset(task=task)
                    client.started(task=task)
                    continue
                if task == worker:
                    with _as_on_a_worker(taken):
                        client.add_events(_report(task, step))
                else:
                    client.add_events(_report(task, step))
    reports = sum(step != RESET for step in plan)
    assert len(taken) >= reports, "every report's points went through the worker's form"
    assert all(s.count("INSERT INTO") == 2 for s in taken)
    expected = _rows(engine, company, plain)
    assert expected or not reports
    assert _rows(engine, company, worker) == expected


def test_the_function_runs_both_statements_and_a_failure_undoes_both(
    client: Client, engine: Engine, company: str
) -> None:
    """EXECUTE runs the `;`-separated statements in order in the caller's transaction: a
    rolled-back report leaves neither a series nor a point."""
    task = _task(client)
    with _as_on_a_worker([]):
        client.add_events(_report(task, [("loss", "", 1, 1.0), ("loss", "", 2, 3.0)]))
    assert [r[6:] for r in _rows(engine, company, task)] == [
        (1, "1", 1000, 1, "1.0"),
        (2, "3", 1001, 2, "4.0"),
    ]
    params = {
        **metric_points.columns(
            {(company, task, 0, "acc", ""): {5: ("2.5", 7)}},
        ),
        "tenant": company,
    }
    with engine.connect() as conn, conn.begin() as tx:
        pg = raw(conn)
        text = psycopg.ClientCursor(pg).mogrify(_WORKER, params)
        pg.execute("SELECT tasktrack_run_pinned(%s, %s)", (company, text))
        inside = pg.execute(
            "SELECT count(*) FROM task_metric_series s JOIN task_metric_points p "
            "ON p.company = s.company AND p.series_id = s.series_id "
            "WHERE s.company = %s AND s.task_id = %s AND s.metric = 'acc'",
            (company, task),
        ).fetchone()
        tx.rollback()
    assert inside == (1,)
    assert [r[1] for r in _rows(engine, company, task) if r[0] != "run"] == ["loss", "loss"]
