"""Pipelines and datasets of ClearML's SDK, run against `tasktrack serve`, unchanged.

A PipelineController of function steps and its @PipelineDecorator twin run locally
(`start_locally(run_pipeline_steps_locally=True)`, `PipelineDecorator.run_locally()`): they
complete, their steps are tasks whose parent is the controller, and the pipeline's project is
tagged as ClearML's SDK tags it. A dataset of a small folder and a child version round-trip
through `clearml.Dataset`. What the SDK saved (models, artifacts) shows in `tasktrack tasks
show` and `tasktrack models history`.

Where the SDK stores files (artifacts, dataset zips) is the `storage` fixture's choice alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.e2e.cli import as_json, run
from tests.e2e.http import Api
from tests.e2e.sdk import Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


class Storage(msgspec.Struct, frozen=True):
    """The SDK's storage: the environment that chooses it, and how its URIs begin."""

    env: dict[str, str]
    prefix: str


@pytest.fixture
def storage(server: str) -> Storage:
    """The SDK's default: tasktrack's file server, CLEARML_FILES_HOST (set by Sdk)."""
    return Storage({}, f"{server}/files/")


@pytest.fixture
def sdk(server: str, new_caller: Callable[..., Api], tmp_path: Path, storage: Storage) -> Sdk:
    """A user of a company of their own (so project names and dataset versions start afresh)."""
    home = tmp_path / "home"
    home.mkdir()
    made = Sdk(server, new_caller(user="sdk-user"), home, subprocess_reporting=False)
    made.env.update(storage.env)
    return made


def _project(sdk: Sdk, project_id: str) -> dict[str, Any]:
    return dict(sdk.api.ok("projects.get_by_id", {"project": project_id})["project"])


def _steps(sdk: Sdk, controller: str) -> dict[str, dict[str, Any]]:
    found = sdk.api.ok("tasks.get_all", {"parent": controller, "order_by": ["created"]})["tasks"]
    return {t["name"]: t for t in found}


def _check_pipeline(sdk: Sdk, storage: Storage, controller_id: str, name: str) -> None:
    """The controller completed, tagged `pipeline`, in `sdk pipelines/.pipelines/<name>`
    (hidden, tagged `pipeline`); its steps completed, the list went between them as an
    artifact in the storage and the sum came back as a parameter."""
    controller = sdk.task(controller_id)
    assert controller["status"] == "completed"
    assert controller["type"] == "controller"
    assert "pipeline" in controller["system_tags"]
    assert controller["runtime"]["version"] == "1.0.0"
    project = _project(sdk, controller["project"])
    assert project["name"] == f"sdk pipelines/.pipelines/{name}"
    assert {"hidden", "pipeline"} <= set(project["system_tags"])
    section = _project(sdk, project["parent"])
    assert section["name"] == "sdk pipelines/.pipelines"
    assert "hidden" in section["system_tags"]
    visible = sdk.api.ok("projects.get_all", {})["projects"]
    assert [p["name"] for p in visible] == ["sdk pipelines"]  # the rest is hidden
    pipelines = sdk.api.ok(
        "tasks.get_all",
        {"system_tags": ["pipeline"], "type": ["controller"], "search_hidden": True},
    )["tasks"]
    assert [t["id"] for t in pipelines] == [controller_id]

    steps = _steps(sdk, controller_id)
    assert set(steps) == {"split", "total"}
    for step in steps.values():
        assert step["status"] == "completed", step["name"]
        assert step["project"] == controller["project"]
        assert sdk.history(step["id"])[-1] == ("in_progress", "completed")
    [parts] = steps["split"]["execution"]["artifacts"]
    assert parts["key"] == "parts"
    assert parts["type"] == "pickle"
    assert parts["uri"].startswith(storage.prefix)
    assert parts["type_data"]["preview"] == "[3, 6]"
    returned = sdk.task(steps["total"]["id"])["hyperparams"]["return"]
    assert [(p["name"], p["value"]) for p in returned.values()] == [
        ("sum" if name == "splitter" else "total", "9")
    ]


def _cli(sdk: Sdk, database: str, *args: str) -> Any:
    """`tasktrack ARGS --json` on the server's database, as the SDK user's company."""
    company = sdk.api.credential.company  # type: ignore[attr-defined]
    group, *rest = args
    env = {"TASKTRACK_DATABASE_URL": database}
    return as_json(run(group, "--company", company, *rest, "--json", env=env))


def test_a_pipeline_controller_with_function_steps_runs_locally(
    sdk: Sdk, storage: Storage, e2e_database: str
) -> None:
    done, controller = sdk.run("pipeline_controller.py")
    assert done.returncode == 0, done.stderr
    _check_pipeline(sdk, storage, controller, "splitter")
    split = _steps(sdk, controller)["split"]["id"]
    shown = _cli(sdk, e2e_database, "tasks", "show", split)
    assert [a["key"] for a in shown["execution"]["artifacts"]] == ["parts"]


def test_the_cli_shows_the_models_an_sdk_run_saved(sdk: Sdk, e2e_database: str) -> None:
    done, task_id = sdk.run("output_model.py", str(sdk.home / "weights"))
    assert done.returncode == 0, done.stderr
    found = re.search(r"^MODEL (\S+)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    model = found.group(1)
    entries = _cli(sdk, e2e_database, "tasks", "show", task_id)["model_entries"]
    assert {(e["type"], e["model"], e["model_name"]) for e in entries} == {
        ("output", model, "weights")
    }
    assert entries[-1]["uri"].endswith("weights_2.bin")
    history = _cli(sdk, e2e_database, "models", "history", model)["history"]
    assert {h["user"] for h in history} == {"sdk-user"}
    assert history[0]["event"] == "ModelCreated"
    uploads = [h["changes"]["uri"] for h in history if h["event"] == "ModelWeightsUpdated"]
    assert [uri.rsplit("/", 1)[-1] for uri in uploads] == ["weights_1.bin", "weights_2.bin"]


def test_a_decorated_pipeline_runs_locally(sdk: Sdk, storage: Storage) -> None:
    done, controller = sdk.run("pipeline_decorator.py")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^SUM 9$", done.stdout, re.MULTILINE), done.stdout
    _check_pipeline(sdk, storage, controller, "decorated")


def test_a_dataset_and_a_child_version_round_trip_then_one_is_published_one_deleted(
    sdk: Sdk, storage: Storage
) -> None:
    folder = sdk.home / "digits"
    folder.mkdir()
    (folder / "a.txt").write_text("one\n")
    (folder / "b.txt").write_text("two\n")
    done, child = sdk.run("dataset.py", str(folder))
    assert done.returncode == 0, done.stderr
    found = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    result = json.loads(found.group(1))
    parent = result["parent"]
    assert result["child"] == child
    assert result["files"] == ["a.txt", "b.txt", "c.txt"]
    assert result["parent_files"] == ["a.txt", "b.txt"]
    assert result["content"] == {"a.txt": "one\n", "b.txt": "two\n", "c.txt": "three"}
    assert result["graph"] == {parent: [], child: [parent]}
    assert result["latest"] == [child, "1.0.1"]
    assert result["listed"] == sorted([[parent, "1.0.0"], [child, "1.0.1"]])

    for dataset, count in ((parent, 2), (child, 3)):
        task = sdk.task(dataset)
        assert task["status"] == "completed"
        assert task["type"] == "data_processing"
        assert "dataset" in task["system_tags"]
        assert task["runtime"]["ds_file_count"] == count
        artifacts = {a["key"]: a for a in task["execution"]["artifacts"]}
        assert artifacts["data"]["uri"].startswith(storage.prefix)
        assert artifacts["state"]["uri"].startswith(storage.prefix)
    project = _project(sdk, sdk.task(parent)["project"])
    assert project["name"] == "sdk datasets/.datasets/digits"
    assert {"hidden", "dataset"} <= set(project["system_tags"])

    done, _ = sdk.run("dataset_retire.py", parent, child)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    assert json.loads(found.group(1)) == {"published": parent, "listed": [parent]}
    assert sdk.task(parent)["status"] == "published"
    assert sdk.api.error("tasks.get_by_id", {"task": child})[:2] == (400, 101)
