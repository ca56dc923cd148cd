"""`tasktrack tasks` as a user drives it: list, show and history as tables and as JSON."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tasktrack.api import Client
from tasktrack.queries.views import TaskView
from tests.e2e.cli import as_json, ok, run


@pytest.fixture
def cli_group() -> str:
    return "tasks"


def scalar(task: str, metric: str, variant: str, value: float, it: int) -> dict[str, Any]:
    return {
        "task": task,
        "type": "training_stats_scalar",
        "metric": metric,
        "variant": variant,
        "value": value,
        "iter": it,
    }


def make_run(client: Client, name: str, **fields: Any) -> str:
    """A task queued, started, with loss/train at iterations 0..2 (0.9, 0.4, 0.6), completed."""
    task = str(client.create(name=name, type="training", **fields)["id"])
    client.enqueue(task=task, queue_name="gpu")
    client.started(task=task, status_reason="picked up")
    client.add_events([scalar(task, "loss", "train", v, i) for i, v in enumerate([0.9, 0.4, 0.6])])
    client.completed(task=task, status_message="all done")
    return task


def test_list_shows_the_tasks_as_a_table_and_as_one_json_document(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    done = make_run(client, "resnet-run", project="vision", tags=["resnet", "lr=0.1"])
    draft = str(client.create(name="draft-one", type="testing")["id"])

    table = ok(tt("list"))
    lines = table.splitlines()
    [done_line] = [line for line in lines if done in line]
    tags = ", ".join(client.get_by_id(done).tags)  # as stored: "lr=0.1, resnet"
    for value in ("resnet-run", "completed", "training", "vision", "alice", tags):
        assert value in done_line
    [draft_line] = [line for line in lines if draft in line]
    assert "draft-one" in draft_line
    assert "created" in draft_line
    assert "testing" in draft_line

    document = as_json(tt("list", "--json"))
    assert document["page"] == 0
    assert document["page_size"] == 50
    assert [t["id"] for t in document["tasks"]] == [draft, done]  # newest first
    by_id = {t["id"]: t for t in document["tasks"]}
    assert by_id[done]["status"] == "completed"
    assert by_id[done]["project"] == "vision"
    assert by_id[done]["last_iteration"] == 2
    assert by_id[draft]["status"] == "created"
    # Stable keys: every field of the task object, null when unset, whatever the task.
    assert set(by_id[draft]) == set(by_id[done]) == set(TaskView.__struct_fields__)
    assert by_id[draft]["started"] is None


def test_list_filters_reach_get_all(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    a = make_run(client, "alpha sweep", project="p1", tags=["x"])
    b = str(client.create(name="beta", type="testing", project="p2", tags=["y"])["id"])
    c = str(client.create(name="gamma", type="training", project="p1", comment="a SWEEP too")["id"])
    hidden = str(client.create(name="hidden one", type="training", system_tags=["hidden"])["id"])
    bob = client.as_caller(client.caller.company, "bob")
    d = str(bob.create(name="bob's", type="inference")["id"])

    def ids(*args: str) -> list[str]:
        return [t["id"] for t in as_json(tt("list", "--json", *args))["tasks"]]

    assert ids("--status", "completed") == [a]
    assert ids("--status", "created", "--status", "completed", "--order-by", "name") == [a, b, d, c]
    assert ids("--project", "p1", "--order-by", "name") == [a, c]
    assert ids("--tag", "y") == [b]
    assert ids("--type", "inference") == [d]
    assert ids("--user-filter", "bob") == [d]
    assert ids("--id", b, "--id", c, "--order-by", "name") == [b, c]
    assert ids("--search", "sweep", "--order-by", "name") == [a, c]  # name or comment, any case
    assert ids("--search", a[:12]) == [a]
    assert hidden not in ids()
    assert hidden in ids("--all")
    assert ids("--order-by", "-name") == [c, d, b, a]
    assert ids("--order-by", "name", "--page-size", "2") == [a, b]
    assert ids("--order-by", "name", "--page-size", "2", "--page", "1") == [d, c]
    # "s" (not a hex digit, so never in an id): a by name, d by name, c by comment.
    assert ids("--search", "S", "--order-by", "name", "--page-size", "2") == [a, d]
    assert ids("--search", "S", "--order-by", "name", "--page-size", "2", "--page", "1") == [c]


def test_search_is_get_alls_search_text(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    needle = str(client.create(name="the Needle run", type="training")["id"])
    by_comment = str(client.create(name="other", type="training", comment="a needle")["id"])
    hay = [str(client.create(name=f"hay {i}", type="training")["id"]) for i in range(3)]

    def ids(*args: str) -> list[str]:
        return [t["id"] for t in as_json(tt("list", "--json", *args))["tasks"]]

    assert ids("--search", "NEEDLE RUN") == [needle]  # only the matching task, any case
    assert ids("--search", "needle", "--order-by", "-name") == [needle, by_comment]
    assert ids("--search", hay[1]) == [hay[1]]
    assert ids("--search", "no such text") == []
    # get_all's own rules, not a client-side scan: the text is trimmed, and @text_score in
    # order_by is allowed (and skipped) only alongside a search_text.
    assert ids("--search", "  needle run ") == [needle]
    assert ids("--search", "hay", "--order-by", "@text_score", "--order-by", "name") == hay
    refused = tt("list", "--order-by", "@text_score")
    assert refused.returncode == 1
    assert "text_score" in refused.stderr


def test_filter_passes_any_get_all_filter(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    def reported(name: str, last: int, tags: list[str]) -> str:
        task = str(client.create(name=name, type="training", tags=tags)["id"])
        client.started(task=task)
        client.add_events([scalar(task, "loss", "train", 1 / (i + 1), i) for i in range(last + 1)])
        return task

    far = reported("far", 7, ["a", "b"])  # loss min 0.125
    near = reported("near", 3, ["a"])  # loss min 0.25
    idle = str(client.create(name="idle", type="testing", comment="v2 run")["id"])

    def ids(*args: str, order: str = "name") -> list[str]:
        ordering = ("--order-by", order) if order else ()
        return [t["id"] for t in as_json(tt("list", "--json", *ordering, *args))["tasks"]]

    assert ids("--filter", "last_iteration=[5, null]") == [far]
    assert ids("--filter", "last_iteration=[null, 5]") == [idle, near]  # missing matches too
    assert ids("--filter", "last_iteration=[3, 3]", "--filter", "tags=a") == [near]
    assert ids("--filter", 'tags=["__$all", "a", "b"]') == [far]
    assert ids("--filter", 'tags=["__$not", "b"]') == [idle, near]
    assert ids("--filter", "name=^n|^f") == [far, near]  # not JSON: a string, here a regex
    assert ids("--filter", 'comment="v2"') == [idle]
    assert ids("--filter", "status=in_progress", "--type", "training") == [far, near]
    assert ids("--filter", "project=null") == [far, idle, near]  # null: missing or empty
    loss, train = (hashlib.md5(s.encode()).hexdigest() for s in ("loss", "train"))
    assert ids("--filter", f"last_metrics.{loss}.{train}.min_value=[0.1, 0.2]") == [far]
    assert ids("--filter", 'order_by=["-name"]', order="") == [near, idle, far]
    assert ids("--filter", "search_text=idle", "--filter", "search_hidden=true") == [idle]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--filter", 'tags=["__$bogus", "a"]'), "tags: unsupported operator '__$bogus'"),
        (("--filter", "last_iteration=[null, null]"), "a range needs a min or a max"),
        (("--filter", "last_iteration=[1, 2, 3]"), "Validation error"),
        (("--filter", "status_changed=>yesterday"), "not an ISO 8601 time"),
        (("--filter", "last_metrics.loss.train.value=[1, 2]"), "last_metrics.loss.train.value"),
        (("--filter", "name=(unclosed"), "parentheses"),
        (("--filter", "bogus=1"), "--filter bogus: not a get_all filter"),
        (("--filter", "last_iteration"), "expected KEY=VALUE"),
        (("--filter", "page=2"), "use --page"),
        (("--filter", "only_fields=[]"), "prints whole tasks"),
        (("--filter", "tags=a", "--filter", "tags=b"), "--filter tags: given twice"),
        (("--status", "created", "--filter", "status=queued"), "already given by --status"),
        (("--search", "x", "--filter", "search_text=y"), "already given by --search"),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_1(
    args: tuple[str, ...], message: str, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    result = tt("list", *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("tasktrack: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback


def test_show_prints_the_main_fields_hyperparameters_and_last_metrics(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = make_run(
        client,
        "show-me",
        project="vision",
        tags=["t1"],
        hyperparams={"Args": {"lr": {"value": "0.01"}, "batch_size": {"value": "64"}}},
    )
    out = ok(tt("show", task))
    lines = out.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.strip("│ ").startswith(label))

    assert task in row("id")
    assert "completed" in row("status")
    assert "all done" in row("status message")
    assert "vision" in row("project")
    assert "t1" in row("tags")
    assert row("last iteration").split("│")[2].strip() == "2"
    assert row("started (UTC)").split("│")[2].strip() != ""
    assert "0.01" in row("Args/lr")
    assert "64" in row("Args/batch_size")
    metric_row = row("loss").split()
    assert metric_row == ["loss", "train", "0.6", "0.4", "0.9", "3"]  # last, min, max, count

    document = as_json(tt("show", task, "--json"))
    api_view = client.get_by_id(task)
    assert document["id"] == task
    assert document["status"] == api_view.status == "completed"
    assert document["hyperparams"]["Args"]["lr"]["value"] == "0.01"
    [[entry]] = [list(v.values()) for v in document["last_metrics"].values()]
    assert (entry["value"], entry["min_value"], entry["max_value"]) == (0.6, 0.4, 0.9)
    assert document["stream_version"] == api_view.stream_version


def test_show_lists_the_plots_single_values_and_debug_images_a_task_reported(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = make_run(client, "reporter")
    figure = {"data": [{"type": "bar", "x": [1, 2], "y": [3, 4]}]}
    table = {"data": [{"type": "table", "header": {"values": ["a"]}, "cells": {"values": [[1]]}}]}
    plot = {"task": task, "type": "plot", "metric": "weights"}
    image = {"task": task, "type": "training_debug_image", "metric": "samples", "variant": "b0"}
    client.add_events(
        [
            {**plot, "variant": "conv1", "iter": 1, "plot_str": json.dumps(figure)},
            {**plot, "variant": "conv1", "iter": 4, "plot_str": json.dumps(figure)},
            {
                **plot,
                "metric": "eval",
                "variant": "classes",
                "iter": 4,
                "plot_str": json.dumps(table),
            },
            {**image, "iter": 2, "url": "http://files/b0_2.png"},
            {**image, "iter": 3, "url": "http://files/b0_3.png"},
            {**scalar(task, "test acc", "summary", 0.93, -(2**31))},
        ]
    )
    out = ok(tt("show", task))
    lines = out.splitlines()

    def cells(first: str, after: str) -> list[str]:
        """The cells of the row starting with `first` in the table titled `after`."""
        start = next(i for i, line in enumerate(lines) if after in line)
        return next(line.split() for line in lines[start:] if line.split()[:1] == [first])

    assert "plots (2)" in out
    assert cells("weights", "plots (") == [
        "weights",
        "conv1",
        "bar",
        "2",
        "4",
    ]  # kind, iterations, last
    assert cells("eval", "plots (") == ["eval", "classes", "table", "1", "4"]
    assert "single values (1)" in out
    assert cells("test", "single values (") == ["test", "acc", "summary", "0.93"]
    assert "debug images (1)" in out
    assert cells("samples", "debug images (") == [
        "samples",
        "b0",
        "2",
        "3",
        "http://files/b0_3.png",
    ]

    reported = as_json(tt("show", task, "--json"))["reported"]
    assert [(p["metric"], p["variant"], p["kind"], p["last_iter"]) for p in reported["plots"]] == [
        ("eval", "classes", "table", 4),
        ("weights", "conv1", "bar", 4),
    ]
    assert reported["single_values"] == [
        {"metric": "test acc", "variant": "summary", "value": 0.93}
    ]
    [images] = reported["debug_images"]
    assert (images["iterations"], images["last_url"]) == (2, "http://files/b0_3.png")
    # As it was: the reports are the current run's, so an --as-of view leaves them out.
    assert as_json(tt("show", task, "--as-of", "1", "--json"))["reported"] is None
    assert "plots (" not in ok(tt("show", task, "--as-of", "1"))


def test_show_of_a_task_that_reported_nothing_has_no_report_tables(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = str(client.create(name="quiet", type="training")["id"])
    out = ok(tt("show", task))
    for title in ("plots (", "single values (", "debug images ("):
        assert title not in out
    reported = as_json(tt("show", task, "--json"))["reported"]
    assert reported == {"plots": [], "single_values": [], "debug_images": []}


def test_show_as_of_shows_the_task_as_it_was(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = str(client.create(name="traveller", type="training")["id"])
    client.enqueue(task=task, queue_name="cpu")
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    client.started(task=task)

    assert as_json(tt("show", task, "--json"))["status"] == "in_progress"
    assert as_json(tt("show", task, "--as-of", "1", "--json"))["status"] == "created"
    assert as_json(tt("show", task, "--as-of", between.isoformat(), "--json"))["status"] == "queued"
    table = ok(tt("show", task, "--as-of", "2"))
    assert "as of 2" in table
    status_line = next(line for line in table.splitlines() if "│ status " in line)
    assert "queued" in status_line


def test_history_is_the_status_timeline(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = make_run(client, "with-history")
    client.reset(task=task, force=True)
    expected = client.get_status_history(task)
    assert len(expected) == 4

    out = ok(tt("history", task))
    rows = [line for line in out.splitlines() if "→" in line and "from → to" not in line]
    assert len(rows) == 4
    for line, h in zip(rows, expected, strict=True):
        assert line.split()[0] == str(h.version)
        assert f"{h.from_status} → {h.to_status}" in line
        assert h.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] in line
        assert "alice" in line
        assert h.reason in line
        assert h.message in line
    assert "picked up" in rows[1]
    assert "all done" in rows[2]
    assert "yes" not in rows[2]
    assert rows[3].rstrip().endswith("yes")  # the forced reset

    document = as_json(tt("history", task, "--json"))
    assert document["task"] == task
    assert [(h["version"], h["from_status"], h["to_status"]) for h in document["history"]] == [
        (h.version, h.from_status, h.to_status) for h in expected
    ]
    assert document["history"][3]["force"] is True
    assert document["history"][1]["reason"] == "picked up"
    assert set(document["history"][0]) == {
        "version",
        "position",
        "from_status",
        "to_status",
        "reason",
        "message",
        "user",
        "at",
        "force",
    }


def test_another_companys_tasks_are_not_there(
    client: Client, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    task = str(client.create(name="mine", type="training")["id"])
    other = f"other-{uuid.uuid4().hex[:8]}"
    assert as_json(tt("list", "--json", company_=other))["tasks"] == []
    refused = tt("show", task, company_=other)
    assert refused.returncode == 1
    assert f"no such task: {task}" in refused.stderr


@pytest.mark.parametrize("command", ["show", "history"])
def test_an_unknown_task_is_exit_1_no_such_task(
    command: str, tt: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    result = tt(command, "no-such-id")
    assert result.returncode == 1
    assert result.stderr.strip() == "tasktrack: no such task: no-such-id"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "{task}", "--as-of", "yesterday"), "as_of 'yesterday' is not an ISO time"),
        (("show", "{task}", "--as-of", "2025-01-01T00:00:00"), "as_of needs a timezone"),
        (("list", "--order-by", "bogus"), "cannot order by 'bogus'"),
        (("list", "--status", "sleeping"), "'sleeping' is not one of"),
        (("list", "--page-size", "0"), "0 is not in the range"),
        (("list", "--page", "-1"), "-1 is not in the range"),
    ],
)
def test_bad_input_is_a_message_and_a_non_zero_exit(
    args: tuple[str, ...],
    message: str,
    client: Client,
    tt: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    task = str(client.create(name="target", type="training")["id"])
    result = tt(*[a.replace("{task}", task) for a in args])
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_blank_company_is_refused(cli_database: str) -> None:
    result = run("tasks", "--company", " ", "list", env={"TASKTRACK_DATABASE_URL": cli_database})
    assert result.returncode == 2
    assert "must not be empty" in result.stderr
