"""Tenant isolation: another company's task is invisible and untouchable on every endpoint
family, exactly as an unknown id (400/101); get_all never returns it; reports are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.http import Api

SCALAR = "training_stats_scalar"


@pytest.fixture
def two(new_caller: Callable[..., Api]) -> tuple[Api, Api, str]:
    owner, stranger = new_caller(), new_caller(user="mallory")
    task = owner.ok("tasks.create", {"name": "private task", "type": "training"})["id"]
    owner.ok("tasks.started", {"task": task})
    owner.ok("events.add", {"task": task, "type": SCALAR, "metric": "m", "value": 1, "iter": 1})
    return owner, stranger, task


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("tasks.get_by_id", {}),
        ("tasks.get_status_history", {}),
        ("events.scalar_metrics_iter_histogram", {}),
        ("tasks.edit", {"comment": "pwned", "force": True}),
        ("tasks.update", {"comment": "pwned"}),
        ("tasks.stopped", {"force": True}),
        ("tasks.stop", {"force": True}),
        ("tasks.reset", {"force": True}),
        ("tasks.delete", {"force": True}),
        ("tasks.enqueue", {"queue_name": "q", "force": True}),
        ("tasks.clone", {}),
        ("tasks.set_requirements", {"requirements": {"pip": "x"}}),
        (
            "tasks.edit_hyper_params",
            {"hyperparams": [{"section": "s", "name": "n"}], "force": True},
        ),
        ("tasks.add_or_update_artifacts", {"artifacts": [{"key": "k", "type": "t"}]}),
        ("tasks.add_or_update_model", {"name": "m", "model": "x", "type": "input"}),
    ],
)
def test_reads_and_writes_of_another_companys_task_are_400_101(
    two: tuple[Api, Api, str], endpoint: str, body: dict[str, Any]
) -> None:
    owner, stranger, task = two
    before = owner.ok("tasks.get_by_id", {"task": task})["task"]
    code, subcode, _msg = stranger.error(endpoint, {"task": task, **body})
    unknown = stranger.error(endpoint, {"task": "f" * 32, **body})
    assert (code, subcode) == (400, 101)
    assert (code, subcode) == unknown[:2]  # indistinguishable from an unknown id
    assert owner.ok("tasks.get_by_id", {"task": task})["task"] == before


def test_batches_lists_and_reports_never_reach_another_company(
    two: tuple[Api, Api, str],
) -> None:
    owner, stranger, task = two
    before = owner.ok("tasks.get_by_id", {"task": task})["task"]
    assert stranger.ok("tasks.get_all", {})["tasks"] == []
    assert stranger.ok("tasks.get_all", {"id": [task]})["tasks"] == []
    many = stranger.ok("tasks.archive_many", {"ids": [task]})
    assert many["failed"][0]["error"]["codes"] == [400, 101]
    assert stranger.error("tasks.update_tags", {"ids": [task], "add_tags": ["x"]})[:2] == (400, 101)
    code, subcode, _ = stranger.error(
        "events.add", {"task": task, "type": SCALAR, "metric": "m", "value": 9, "iter": 99}
    )
    assert (code, subcode) == (400, 131)
    stranger.ok("workers.status_report", {"worker": "evil", "task": task})
    stranger.ok("tasks.ping", {"task": task})
    assert stranger.error("tasks.create", {"name": "child", "type": "training", "parent": task})[
        :2
    ] == (400, 101)
    assert owner.ok("tasks.get_by_id", {"task": task})["task"] == before


def test_the_same_request_id_in_two_companies_does_not_collide(
    two: tuple[Api, Api, str],
) -> None:
    owner, stranger, _task = two
    headers = {"X-Request-Id": "shared-key"}
    mine = owner.ok("tasks.create", {"name": "owner's", "type": "training"}, headers=headers)
    theirs = stranger.ok(
        "tasks.create", {"name": "stranger's", "type": "training"}, headers=headers
    )
    assert mine != theirs
    assert stranger.ok("tasks.get_by_id", {"task": theirs["id"]})["task"]["name"] == "stranger's"
