"""ClearML's own SDK trains against `tasktrack serve` on a database sharded by tenant (Citus,
tests/citus.py): init, hyperparameters, scalars, an artifact, close; then the operator's
checks, `projections verify` and `audit verify`, pass on the cluster."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tasktrack.store import credentials
from tasktrack.store.engine import make_engine
from tests import citus
from tests.e2e.cli import run
from tests.e2e.http import Api, basic, serving
from tests.e2e.sdk import Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


@pytest.fixture(scope="module")
def citus_url(citus_coordinator: str) -> Iterator[str]:
    with citus.distributed_database(citus_coordinator) as url:
        yield url


def test_a_training_run_of_the_sdk_on_the_cluster_then_the_operators_checks(
    citus_url: str, tmp_path: Path
) -> None:
    company = "sdk-on-citus"
    engine = make_engine(citus_url, pool_size=1)
    try:
        with engine.begin() as conn:
            cred = credentials.create(conn, company, "sdk-user")
    finally:
        engine.dispose()
    files = tmp_path / "files"
    files.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {"TASKTRACK_DATABASE_URL": citus_url, "TASKTRACK_FILES_DIR": str(files)}
    with serving(env) as base:
        api = Api(base, basic(cred.access_key, cred.secret_key))
        api.credential = cred  # type: ignore[attr-defined]
        try:
            sdk = Sdk(base, api, home, subprocess_reporting=False)
            done, task_id = sdk.run("training.py")
            assert done.returncode == 0, done.stderr
            task = sdk.task(task_id)
            assert (task["status"], task["name"]) == ("completed", "training run")
            assert sdk.history(task_id) == [
                ("created", "in_progress"),
                ("in_progress", "completed"),
            ]
            params = task["hyperparams"]["General"]
            assert (params["lr"]["value"], params["epochs"]["value"]) == ("0.01", "20")
            loss = sdk.metric(task_id, "loss", "train")
            assert (loss["value"], loss["count"], loss["max_value"]) == (0.05, 20, 1.0)
            accuracy = sdk.metric(task_id, "accuracy", "val")
            assert (accuracy["value"], accuracy["min_value"]) == (0.95, 0.0)
            x, y = sdk.series(task_id, "loss", "train")
            assert x == list(range(20))
            assert y == [1.0 / (i + 1) for i in range(20)]
            (artifact,) = task["execution"]["artifacts"]
            assert artifact["key"] == "summary"
            summary = re.search(r"^SUMMARY (.+)$", done.stdout, re.MULTILINE)
            assert summary, done.stdout
            assert json.loads(summary.group(1)) == {"best": 0.95, "epochs": 20}
            log = api.ok("events.get_task_log", {"task": task_id, "batch_size": 1000})
            assert any("epoch logs from the script" in e["msg"] for e in log["events"])
        finally:
            api.close()

    checks = {"TASKTRACK_DATABASE_URL": citus_url}
    verified = run("projections", "verify", env=checks)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = run("audit", "verify", env=checks)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    covered = sum(int(n) for n in re.findall(r"(\d+) events under chain rule", audit.stdout))
    libpq = make_url(citus_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE stream_id = %s) FROM events", (task_id,)
        ).fetchone()
    assert row is not None
    total, of_task = row
    assert of_task >= 4  # created, started, hyperparameters, metrics, completed...
    assert covered == total
