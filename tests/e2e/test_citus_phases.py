"""Every command family a tenant uses, on a three-node Citus cluster (tests/citus.py): none may
commit in two phases (Citus sends `PREPARE TRANSACTION` to each node a transaction wrote to on
more than one connection or node), neither as the coordinator sees it nor as the nodes count
them (a worker's own two-phase commit inside a delegated function shows only there); the round
trips (statements the coordinator sends to workers, `citus.log_remote_commands`) are printed
per command: the table in docs/architecture.md, "Citus". Skipped off CI without Citus, failing
in CI."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tasktrack.api import Client
from tasktrack.service import Caller
from tests import citus

SCALAR = "training_stats_scalar"


@pytest.fixture(scope="module")
def citus_url(citus_coordinator: str) -> Iterator[str]:
    """A database on the cluster, migrated and distributed by the commands an operator runs."""
    with citus.distributed_database(citus_coordinator) as url:
        yield url


@pytest.fixture
def probe(citus_url: str) -> Iterator[citus.Probe]:
    """Commands counted one at a time: the statements the coordinator sends to workers (its
    log) and the PREPAREs of every node (the cluster's statistics)."""
    counting = citus.Probe(citus_url)
    try:
        yield counting
    finally:
        counting.close()


def _scalar(task: str, it: int, value: float) -> dict[str, Any]:
    return {"task": task, "type": SCALAR, "metric": "loss", "variant": "train", "value": value,
            "iter": it}  # fmt: skip


def _workload(client: Client) -> list[tuple[str, Callable[[], Any]]]:
    """(name, call) of every command family, in an order each one's preconditions hold; ids
    made by earlier calls are read from `made` when the call runs."""
    made: dict[str, str] = {}

    def keep(key: str, result: Any) -> Any:
        made[key] = str(result["id"])
        return result

    def t(key: str = "task") -> str:
        return made[key]

    plot = {"type": "plot", "metric": "roc", "variant": "v", "iter": 1, "plot_str": "{}"}
    image = {"type": "training_debug_image", "metric": "img", "variant": "v", "iter": 1,
             "url": "s3://b/i.png"}  # fmt: skip
    log = {"type": "log", "msg": "epoch 1", "level": "info"}
    return [
        ("projects.create", lambda: keep("project", client.create_project(name="phases"))),
        (
            "projects.update",
            lambda: client.update_project(project=t("project"), description="two words"),
        ),
        (
            "tasks.create",
            lambda: keep(
                "task", client.create(name="phase a", type="training", project=t("project"))
            ),
        ),
        ("tasks.edit", lambda: client.edit(task=t(), comment="edited")),
        (
            "tasks.edit_hyper_params",
            lambda: client.edit_hyper_params(
                task=t(), hyperparams=[{"section": "Args", "name": "lr", "value": "1"}]
            ),
        ),
        ("queues.create", lambda: keep("queue", client.create_queue(name="gpu"))),
        ("tasks.enqueue", lambda: client.enqueue(task=t(), queue=t("queue"))),
        ("tasks.dequeue", lambda: client.dequeue(task=t())),
        ("queues.add_task", lambda: client.add_task_to_queue(queue=t("queue"), task=t())),
        (
            "workers.register",
            lambda: client.register_worker(worker="box:0", queues=[t("queue")]),
        ),
        ("queues.get_next_task", lambda: client.get_next_task(queue=t("queue"), worker="box:0")),
        ("tasks.started", lambda: client.started(task=t())),
        ("workers.status_report", lambda: client.worker_status_report(worker="box:0", task=t())),
        ("events.add scalar", lambda: client.add_events([_scalar(t(), 0, 3.0)])),
        (
            "events.add_batch scalars",
            lambda: client.add_events([_scalar(t(), i, 3.0 - i) for i in range(1, 4)]),
        ),
        (
            "events.add_batch rewrite",
            lambda: client.add_events([_scalar(t(), 2, 7.0), _scalar(t(), -1, 1.0)]),
        ),
        ("events.add log", lambda: client.add_events([{**log, "task": t()}])),
        ("events.add plot", lambda: client.add_events([{**plot, "task": t()}])),
        ("events.add debug image", lambda: client.add_events([{**image, "task": t()}])),
        (
            "events.add_batch mixed",
            lambda: client.add_events(
                [
                    _scalar(t(), 9, 0.5),
                    {**log, "task": t()},
                    {**plot, "task": t(), "iter": 9},
                    {**image, "task": t(), "iter": 9},
                ]
            ),
        ),
        (
            "tasks.add_or_update_artifacts",
            lambda: client.add_or_update_artifacts(
                task=t(), artifacts=[{"key": "data", "type": "csv", "mode": "output"}]
            ),
        ),
        (
            "models.create",
            lambda: keep(
                "model", client.create_model(name="model m", uri="file:///m", ready=False)
            ),
        ),
        ("models.update", lambda: client.update_model(model=t("model"), comment="better")),
        ("tasks.stopped", lambda: client.stopped(task=t(), force=True)),
        ("tasks.reset", lambda: client.reset(task=t())),
        ("tasks.started again", lambda: client.started(task=t(), force=True)),
        ("tasks.failed", lambda: client.failed(task=t(), force=True)),
        ("tasks.reset again", lambda: client.reset(task=t())),
        ("tasks.started third", lambda: client.started(task=t(), force=True)),
        ("tasks.completed", lambda: client.completed(task=t())),
        ("tasks.publish", lambda: client.publish(task=t())),
        ("tasks.archive", lambda: client.archive(tasks=[t()])),
        (
            "tasks.create other",
            lambda: keep("other", client.create(name="phase b", type="testing")),
        ),
        ("tasks.delete", lambda: client.delete(task=t("other"))),
        ("tasks.get_all", lambda: client.get_all(id=[t()])),
        ("tasks.get_by_id", lambda: client.get_by_id(t())),
    ]


def test_single_tenant_commands_commit_in_one_phase_on_every_node(
    probe: citus.Probe, capsys: pytest.CaptureFixture[str]
) -> None:
    client = Client(probe.engine, Caller(company=f"co-{uuid.uuid4().hex[:10]}", user="alice"))
    rows: list[tuple[str, int, int, int]] = []
    try:
        for name, call in _workload(client):
            counted = probe.count(call)
            rows.append(
                (
                    name,
                    counted["remote_commands"],
                    counted["prepared"],
                    counted["prepared_all_nodes"],
                )
            )
    finally:
        client.close()
    table = "\n".join(f"{n:32} {trips:4} {two:3} {every:3}" for n, trips, two, every in rows)
    with capsys.disabled():
        print(f"\n{'command':32} {'trips':>4} 2PC all-nodes-2PC\n{table}")
    assert all(trips > 0 for _, trips, _, _ in rows), "every command reaches a worker:\n" + table
    assert [n for n, _, two, _ in rows if two] == [], table
    # What the coordinator's log cannot see: a worker's own two-phase commit inside the
    # delegated tasktrack_run_pinned (scalar reports were, until the metric points write took
    # a form the worker runs on its own shards; docs/architecture.md, "Citus").
    assert [n for n, _, _, every in rows if every] == [], table
    # No command sends a statement to every shard on its way (the queries behind get_all and
    # get_by_id still read task_metrics by id alone: not a command's, left to the readers).
    with probe.engine.connect() as conn:
        shards = conn.execute(
            text("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'events'::regclass")
        ).scalar_one()
    fanning = [n for n, trips, _, _ in rows if trips >= shards]
    assert fanning == ["tasks.get_all", "tasks.get_by_id"], table


def test_the_count_sees_a_two_phase_commit(probe: citus.Probe) -> None:
    """The measures can fail: a transaction writing two tenants' rows (two workers, whatever
    the shard placement of these two) is prepared on each, in the log and on the nodes."""
    engine = probe.engine
    with engine.connect() as conn:
        placed = conn.execute(
            text(
                "SELECT c, get_shard_id_for_distribution_column('events', c) FROM "
                "unnest(ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) AS c"
            )
        ).all()
        nodes = {
            c: conn.execute(
                text("SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = :s"),
                {"s": shard},
            ).scalar_one()
            for c, shard in placed
        }
    first, *rest = nodes
    other = next(c for c in rest if nodes[c] != nodes[first])

    def write_two_tenants() -> None:
        with engine.begin() as conn:
            for company in (first, other):
                conn.execute(
                    text(
                        "INSERT INTO idempotency_keys (company, request_id, fingerprint, "
                        "response, created_at) VALUES (:c, 'r', 'f'::bytea, '{}', now())"
                    ),
                    {"c": company},
                )

    counted = probe.count(write_two_tenants)
    assert counted["prepared_all_nodes"] == counted["prepared"] >= 2, counted
