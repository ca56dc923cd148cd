"""The SDK's `task.delete()` against `tasktrack serve`: a task of a nested project (created
with its parents, as ClearML does) is deleted with its artifacts, its output model and the
model's weights, and the log keeps the fact (issue 16: delete() used to stop half way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.dbstate import stream_actions
from tests.e2e.http import Api
from tests.e2e.sdk import Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


def test_task_delete_removes_the_task_its_model_and_their_files(
    server: str, new_caller: Callable[..., Api], e2e_engine: Engine, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sdk = Sdk(server, new_caller(user="cleaner"), home, subprocess_reporting=False)
    store = tmp_path / "store"
    done, task = sdk.run("delete.py", str(store))
    assert done.returncode == 0, done.stderr
    assert "PROJECT sdk e2e/nested/deep" in done.stdout
    assert "DELETED True" in done.stdout, done.stdout + done.stderr
    model = done.stdout.split("MODEL ")[1].split()[0]

    names = {p["name"] for p in sdk.api.ok("projects.get_all", {})["projects"]}
    assert {"sdk e2e", "sdk e2e/nested", "sdk e2e/nested/deep"} <= names
    assert sdk.api.ok("tasks.get_all", {"id": [task]})["tasks"] == []
    assert sdk.api.ok("models.get_all", {"id": [model]})["models"] == []
    # The SDK had uploaded the weights and the artifact under the store, and deleted both.
    stored = [line[7:] for line in done.stdout.splitlines() if line.startswith("STORED ")]
    assert len(stored) == 2
    assert all(uri.startswith(store.as_uri()) for uri in stored), stored
    assert "FILES 2" in done.stdout
    assert [p for p in store.rglob("*") if p.is_file()] == []
    # The read models forgot the task; the log still says who deleted it, after what.
    rows = stream_actions(e2e_engine, task)
    kinds = [kind for kind, _ in rows]
    assert (kinds[0], kinds[-1]) == ("TaskCreated", "TaskDeleted"), kinds
    assert "TaskCompleted" in kinds
    assert rows[-1][1] == "cleaner"
