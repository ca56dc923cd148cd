"""ClearML's own Python SDK runs experiments against `tasktrack serve`, unchanged.

Each test runs a real SDK script in a subprocess (with its own HOME, so its cache and offline
folders are its own) and then checks what tasktrack recorded: the task row, its status history,
last_metrics, the series and the console log. Most runs switch the SDK's reporting subprocess
off (`sdk.development.report_use_subprocess: false`) for speed; one keeps the SDK's defaults.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.e2e.http import Api
from tests.e2e.sdk import Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


def _log_positions(engine: Engine, task_id: str) -> list[tuple[str, int]]:
    """(event type, log position) of every event of the task, in log order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, position FROM events WHERE stream_id = :task ORDER BY position"),
            {"task": task_id},
        ).all()
    return [(str(kind), int(position)) for kind, position in rows]


@pytest.fixture
def sdk(server: str, new_caller: Callable[..., Api], tmp_path: Path) -> Sdk:
    return Sdk(server, new_caller(user="sdk-user"), tmp_path, subprocess_reporting=False)


def _check_normal_run(
    sdk: Sdk, done: subprocess.CompletedProcess[str], task_id: str, *, resent: bool = False
) -> None:
    """`resent`: the SDK's reporting subprocess delivers at least once (under load it may send a
    batch again); SEMANTICS counts a repeated report twice, so only the count may then grow,
    by whole batches, while every value stays exact."""
    assert done.returncode == 0, done.stderr
    task = sdk.task(task_id)
    assert task["status"] == "completed"
    assert task["name"] == "normal run"
    assert task["user"] == "sdk-user"
    assert sdk.history(task_id) == [("created", "in_progress"), ("in_progress", "completed")]
    params = task["hyperparams"]["General"]
    assert (params["lr"]["value"], params["epochs"]["value"]) == ("0.1", "5")
    loss = sdk.metric(task_id, "loss", "train")
    assert loss["value"] == 0.2
    if resent:
        assert loss["count"] % 5 == 0
        assert loss["count"] >= 5
    else:
        assert loss["count"] == 5
    assert (loss["min_value"], loss["min_value_iteration"]) == (0.2, 4)
    assert (loss["max_value"], loss["max_value_iteration"]) == (1.0, 0)
    assert task["last_iteration"] == 4
    series = sdk.api.ok("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert series["loss"]["train"]["x"] == [0, 1, 2, 3, 4]
    assert series["loss"]["train"]["y"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    log = sdk.api.ok("events.get_task_log", {"task": task_id, "batch_size": 1000})
    assert any("hello from the script" in e["msg"] for e in log["events"])
    project = sdk.api.ok("projects.get_by_id", {"project": task["project"]})["project"]
    assert project["name"] == "sdk e2e"


def test_a_normal_run(sdk: Sdk) -> None:
    done, task_id = sdk.run("normal.py")
    _check_normal_run(sdk, done, task_id)


def test_a_normal_run_with_the_sdk_defaults(
    server: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    """The SDK's default: reports go through its reporting subprocess."""
    sdk = Sdk(server, new_caller(user="sdk-user"), tmp_path, subprocess_reporting=True)
    done, task_id = sdk.run("normal.py")
    _check_normal_run(sdk, done, task_id, resent=True)


def test_a_run_that_raises_ends_failed_and_its_scalars_land(sdk: Sdk, e2e_engine: Engine) -> None:
    done, task_id = sdk.run("raises.py")
    assert done.returncode != 0
    assert "RuntimeError: boom" in done.stderr
    task = sdk.task(task_id)
    assert task["status"] == "failed"
    assert sdk.history(task_id) == [("created", "in_progress"), ("in_progress", "failed")]
    loss = sdk.metric(task_id, "loss", "train")
    assert (loss["count"], loss["value"], loss["min_value"]) == (3, 8.0, 8.0)
    assert task["last_iteration"] == 2
    assert sdk.series(task_id, "loss", "train") == ([0, 1, 2], [10.0, 9.0, 8.0])
    # The scalars reach a task that has already failed: on an exception the SDK's exit hook
    # skips its flush and sends tasks.failed at once; the reporter's own atexit handler sends
    # the queued scalars afterwards (its background flush comes every 5 s, after this run).
    log = _log_positions(e2e_engine, task_id)
    (failed_at,) = [position for kind, position in log if kind == "TaskFailed"]
    reported_at = [position for kind, position in log if kind == "MetricsReported"]
    assert reported_at, log
    assert min(reported_at) > failed_at, log


def test_mark_completed(sdk: Sdk) -> None:
    done, task_id = sdk.run("completed.py")
    assert done.returncode == 0, done.stderr
    assert sdk.task(task_id)["status"] == "completed"
    # mark_completed sends tasks.completed; at exit the SDK sends it again (a change to the same
    # status, recorded as one).
    assert sdk.history(task_id) == [
        ("created", "in_progress"),
        ("in_progress", "completed"),
        ("completed", "completed"),
    ]
    acc = sdk.metric(task_id, "acc", "val")
    assert (acc["value"], acc["count"]) == (0.9, 1)
    assert sdk.task(task_id)["last_iteration"] == 7


def test_a_rerun_reuses_the_task_through_reset(sdk: Sdk) -> None:
    first, task_id = sdk.run("rerun.py", "1")
    assert first.returncode == 0, first.stderr
    second, again = sdk.run("rerun.py", "2")
    assert second.returncode == 0, second.stderr
    assert again == task_id
    assert sdk.history(task_id) == [
        ("created", "in_progress"),
        ("in_progress", "completed"),
        ("completed", "created"),  # the reset
        ("created", "in_progress"),
        ("in_progress", "completed"),
    ]
    general = sdk.task(task_id)["hyperparams"]["General"]
    assert general["run"]["value"] == "2"
    assert general["only_in_run_2"]["value"] == "2"
    # The SDK blanks the reused task with tasks.edit(hyperparams={}) and then rewrites the
    # parameters it reads back: run 1's own key is gone only if the blanking edit worked.
    assert "only_in_run_1" not in general
    loss = sdk.metric(task_id, "loss", "train")  # a fresh aggregate after the reset
    assert (loss["count"], loss["min_value"], loss["max_value"]) == (3, 20.0, 22.0)
    current = sdk.api.ok("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert current["loss"]["train"]["y"] == [20.0, 21.0, 22.0]
    everything = sdk.api.ok(
        "events.scalar_metrics_iter_histogram", {"task": task_id, "all_runs": True}
    )
    assert everything["loss"]["train"]["y"] == [10.0, 11.0, 12.0, 20.0, 21.0, 22.0]


def test_an_offline_session_is_imported(sdk: Sdk) -> None:
    recorded, zip_path = sdk.run("offline.py")
    assert recorded.returncode == 0, recorded.stderr
    assert Path(zip_path).exists()
    imported, task_id = sdk.run("import_offline.py", zip_path)
    assert imported.returncode == 0, imported.stderr
    task = sdk.task(task_id)
    assert task["name"] == "offline run"
    assert task["status"] == "completed"
    assert task["hyperparams"]["General"]["batch"]["value"] == "32"
    loss = sdk.metric(task_id, "loss", "train")
    assert (loss["count"], loss["value"], loss["first_value"]) == (4, 7.0, 10.0)
    assert sdk.history(task_id) == [("created", "in_progress"), ("in_progress", "completed")]
    assert sdk.series(task_id, "loss", "train") == ([0, 1, 2, 3], [10.0, 9.0, 8.0, 7.0])
    assert task["last_iteration"] == 3


def _printed(done: subprocess.CompletedProcess[str], label: str) -> Any:
    found = re.search(rf"^{label} (.*)$", done.stdout, re.MULTILINE)
    assert found, f"no {label} line:\n{done.stdout}\n{done.stderr}"
    return json.loads(found.group(1))


def test_user_properties_read_back_what_was_set(sdk: Sdk) -> None:
    """Task.get_user_properties reads tasks.get_hyper_params: it must see what
    set_user_properties wrote (the SDK swallows a failure and answers {})."""
    done, task_id = sdk.run("properties.py")
    assert done.returncode == 0, done.stderr
    assert _printed(done, "VALUES") == {"backbone": "resnet", "depth": "50", "stable": "True"}
    depth = _printed(done, "FULL")
    assert (depth["section"], depth["name"], depth["value"]) == ("properties", "depth", "50")
    assert depth["description"] == "layers"
    assert _printed(done, "AFTER") == {"backbone": "resnet", "depth": "50"}
    stored = sdk.task(task_id)["hyperparams"]["properties"]
    assert sorted(stored) == ["backbone", "depth"]


def test_an_output_model_saved_twice_and_published_with_its_task(sdk: Sdk) -> None:
    """The SDK creates its output model with models.create (ready: ClearML's default) and then
    edits its weights as it uploads: both uploads must land."""
    done, task_id = sdk.run("output_model.py", str(sdk.home / "store"))
    assert done.returncode == 0, done.stderr
    found = re.search(r"^MODEL (\S+)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    model = sdk.api.ok("models.get_by_id", {"model": found.group(1)})["model"]
    assert model["uri"].endswith("weights_2.bin"), model["uri"]
    assert model["task"] == task_id
    outputs = sdk.task(task_id)["models"]["output"]
    # The SDK names each output entry after the file it saved: two entries, one model.
    assert {m["model"] for m in outputs} == {model["id"]}, outputs
    sdk.api.ok("models.edit", {"model": model["id"], "ready": False})
    sdk.api.ok("tasks.publish", {"task": task_id, "force": True})
    assert sdk.api.ok("models.get_by_id", {"model": model["id"]})["model"]["ready"] is True


def test_plots_images_and_single_values_read_back_through_the_sdk(sdk: Sdk) -> None:
    """What report_histogram/table/plotly/confusion_matrix/scatter2d, report_single_value and
    report_image wrote comes back through the SDK's own readers (issue 18)."""
    done, task_id = sdk.run("reports.py")
    assert done.returncode == 0, done.stderr
    plots = [tuple(p) for p in _printed(done, "PLOTS")]
    assert [p[0] for p in plots] == ["confusion", "hist", "plotly", "scatter", "table"]
    assert all(it == 2 for _, _, it in plots)
    (figure,) = _printed(done, "PLOTLY")
    assert json.loads(figure)["data"][0]["y"] == [3, 4]
    assert _printed(done, "SINGLE") == {"accuracy": 0.93}
    assert _printed(done, "IMAGES") == [
        [2, "http://files.example/b.png"],
        [1, "http://files.example/a.png"],
    ]
    assert _printed(done, "SCALARS") == [1.0, 0.5, 1 / 3]
    assert any("hello from the reports script" in line for line in _printed(done, "CONSOLE"))
    # The single value is no point of the histogram.
    series = sdk.api.ok("events.scalar_metrics_iter_histogram", {"task": task_id})
    assert "Summary" not in series


def test_an_output_models_own_reports_land_on_the_model(sdk: Sdk) -> None:
    """OutputModel.report_scalar / report_single_value / report_histogram send model events
    (`model_event: true`): they are read back with `model_events` (issue 18)."""
    done, _ = sdk.run("model_reports.py", str(sdk.home / "store"))
    assert done.returncode == 0, done.stderr
    found = re.search(r"^MODEL (\S+)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    model = found.group(1)
    series = sdk.api.ok(
        "events.scalar_metrics_iter_histogram", {"task": model, "model_events": True}
    )
    assert series["loss"]["val"]["x"] == [0, 1, 2]
    assert series["loss"]["val"]["y"] == [1.0, 0.5, 1 / 3]
    single = sdk.api.ok(
        "events.get_task_single_value_metrics", {"tasks": [model], "model_events": True}
    )
    assert [(v["variant"], v["value"]) for v in single["tasks"][0]["values"]] == [("accuracy", 0.9)]
    plots = sdk.api.ok("events.get_task_plots", {"task": model, "model_events": True})["plots"]
    assert [(p["metric"], p["iter"]) for p in plots] == [("hist", 2)]
    doc = sdk.api.ok("models.get_by_id", {"model": model})["model"]
    assert doc["last_iteration"] == 2


def _queue_named(sdk: Sdk, name: str) -> dict[str, Any]:
    (queue,) = sdk.api.ok("queues.get_all", {"name": f"^{name}$"})["queues"]
    return dict(queue)


def test_task_enqueue_by_queue_name_leaves_the_task_in_the_default_queue(sdk: Sdk) -> None:
    """Task.enqueue(task, queue_name="default") finds the company's default queue (made on
    the SDK's first look at the queues) and puts the task in its line."""
    done, task_id = sdk.run("enqueue.py", "default")
    assert done.returncode == 0, done.stderr
    task = sdk.task(task_id)
    queue = _queue_named(sdk, "default")
    assert task["status"] == "queued"
    assert task["execution"]["queue"] == queue["id"]
    assert [e["task"] for e in queue["entries"]] == [task_id]
    assert queue["system_tags"] == ["default"]
    assert sdk.api.ok("queues.get_default", {})["id"] == queue["id"]


def test_execute_remotely_leaves_the_task_queued(sdk: Sdk) -> None:
    sdk.api.ok("queues.create", {"name": "remote-gpu"})
    done, task_id = sdk.run("remote.py", "remote-gpu")
    assert done.returncode == 0, done.stderr
    assert "still running locally" not in done.stdout
    task = sdk.task(task_id)
    assert task["status"] == "queued"
    queue = _queue_named(sdk, "remote-gpu")
    assert [e["task"] for e in queue["entries"]] == [task_id]
    assert sdk.api.ok("queues.get_next_task", {"queue": queue["id"]})["entry"]["task"] == task_id
