"""ClearML's hyperparameter optimizer runs against `tasktrack serve`: a grid search run locally
clones the base experiment once per point, runs each clone, reads their objective back from
tasktrack, and names the best (issue 16: its reporting thread died on `...Z` datetimes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.http import Api
from tests.e2e.sdk import Sdk

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")


def test_a_grid_search_runs_every_point_and_finds_the_best(
    server: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    sdk = Sdk(server, new_caller(user="tuner"), tmp_path, subprocess_reporting=False)
    done, base = sdk.run("hpo_base.py")
    assert done.returncode == 0, done.stderr
    done, controller = sdk.run("hpo.py", base)
    assert done.returncode == 0, done.stderr
    best = done.stdout.split("BEST ")[1].split()[0]

    jobs = sdk.api.ok("tasks.get_all", {"parent": controller})["tasks"]
    points = {
        (t["hyperparams"]["General"]["x"]["value"], t["hyperparams"]["General"]["y"]["value"])
        for t in jobs
    }
    assert points == {(x, y) for x in ("1", "3", "5") for y in ("0", "1")}
    assert {t["status"] for t in jobs} == {"completed"}
    assert all(t["user"] == "tuner" and t["type"] == "training" for t in jobs)
    # Each job's objective is the base script's formula at its point: 10 - (x-3)^2 - y + 2.
    for t in jobs:
        x = int(t["hyperparams"]["General"]["x"]["value"])
        y = int(t["hyperparams"]["General"]["y"]["value"])
        assert sdk.metric(t["id"], "score", "value")["value"] == 12 - (x - 3) ** 2 - y
    winner = sdk.task(best)
    assert winner["parent"] == controller
    assert winner["hyperparams"]["General"]["x"]["value"] == "3"
    assert winner["hyperparams"]["General"]["y"]["value"] == "0"
    ctl = sdk.task(controller)
    assert (ctl["type"], ctl["status"]) == ("optimizer", "completed")
    # The base experiment is a template: cloned, never changed by the search.
    assert sdk.task(base)["hyperparams"]["General"]["x"]["value"] == "1"
