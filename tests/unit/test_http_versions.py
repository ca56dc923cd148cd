"""Older API versions at the edge: tags before 2.3, legacy parameter fields before 2.9, and
escaped keys in paths into hyperparams and configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasktrack.http import versions
from tasktrack.queries.param_keys import split_path, unescape
from tasktrack.queries.shaping import only_fields


def _request(version: str | None, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(versions.request(version, endpoint, json.dumps(body).encode()))
    return out


def test_versions_parse_and_none_means_the_newest() -> None:
    assert versions.parse("2.9") == (2, 9)
    assert versions.parse("999.0") == (999, 0)
    assert versions.parse(None) is None


@pytest.mark.parametrize(
    ("endpoint", "tags", "expected"),
    [
        ("tasks.create", ["development", "test"], (["test"], ["development"])),
        ("tasks.get_all", ["-development", "x"], (["x"], ["-development"])),
        ("tasks.create", ["Annotation", "annotator2", "a"], (["a"], ["Annotation", "annotator2"])),
        ("models.create", ["archived", "development"], (["development"], ["archived"])),
        ("projects.update", ["public", "default", "p"], (["p"], ["default", "public"])),
        ("tasks.update", ["test"], (["test"], [])),  # clears the system tags
    ],
)
def test_before_2_3_system_tags_among_tags_move_to_system_tags(
    endpoint: str, tags: list[str], expected: tuple[list[str], list[str]]
) -> None:
    body = _request("2.2", endpoint, {"tags": tags, "name": "x"})
    assert (body["tags"], body["system_tags"]) == expected
    assert body["name"] == "x"


def test_tags_pass_untouched_from_2_3_or_with_system_tags_or_elsewhere() -> None:
    raw = json.dumps({"tags": ["development"]}).encode()
    assert versions.request("2.3", "tasks.create", raw) == raw
    assert versions.request(None, "tasks.create", raw) == raw
    assert versions.request("2.2", "events.add", raw) == raw
    both = json.dumps({"tags": ["development"], "system_tags": ["x"]}).encode()
    assert versions.request("2.2", "tasks.create", both) == both
    assert versions.request("2.2", "tasks.create", b"{not json") == b"{not json"


def test_before_2_3_answers_show_system_tags_among_tags() -> None:
    data = {"task": {"id": "t", "tags": ["b"], "system_tags": ["development"]}}
    old = versions.answer("2.2", "tasks.get_by_id", data)
    assert old["task"]["tags"] == ["b", "development"]
    assert old["task"]["system_tags"] == ["development"]
    many = {"models": [{"id": "m", "tags": [], "system_tags": ["archived"]}]}
    assert versions.answer("2.1", "models.get_all", many)["models"][0]["tags"] == ["archived"]
    assert versions.answer("2.3", "tasks.get_by_id", data)["task"]["tags"] == ["b"]
    assert versions.answer("2.9", "tasks.get_by_id", data) is data  # no work at all
    assert data["task"]["tags"] == ["b"]  # the answer is converted on a copy


def _task_doc() -> dict[str, Any]:
    return {
        "id": "t",
        "tags": [],
        "system_tags": [],
        "hyperparams": {
            "Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1", "type": "legacy"}},
            "TF_DEFINE": {
                "s": {"section": "TF_DEFINE", "name": "s", "value": "1", "type": "legacy"}
            },
            "General": {"x": {"section": "General", "name": "x", "value": "2"}},
        },
        "configuration": {"design": {"name": "design", "value": "hello", "type": "legacy"}},
    }


def test_before_2_9_tasks_show_their_legacy_items_in_the_execution() -> None:
    old = versions.answer("2.8", "tasks.get_all_ex", {"tasks": [_task_doc()]})
    execution = old["tasks"][0]["execution"]
    assert execution["parameters"] == {"lr": "0.1", "TF_DEFINE/s": "1"}
    assert execution["model_desc"] == {"design": "hello"}
    assert "hyperparams" in old["tasks"][0]  # still there, as ClearML answers
    assert "parameters" not in versions.answer("2.9", "tasks.get_by_id", {"task": _task_doc()})[
        "task"
    ].get("execution", {})
    # Other endpoints' answers are left alone.
    assert versions.answer("2.8", "tasks.get_hyper_params", {"tasks": [_task_doc()]}) == {
        "tasks": [_task_doc()]
    }


def test_escaped_keys_in_paths() -> None:
    assert unescape("sec%2Etion%24x%_%_y") == "sec.tion$x__y"
    assert unescape("%_lead") == "_lead"
    assert unescape("100%%2E") == "100%2E"  # an escaped % is a plain %
    assert split_path("hyperparams.sec%2Etion.na%2Eme.value") == [
        "hyperparams",
        "sec.tion",
        "na.me",
        "value",
    ]
    assert split_path("configuration.a%2Eb") == ["configuration", "a.b"]
    assert split_path("execution.sec%2Etion") == ["execution", "sec%2Etion"]
    assert split_path("execution.parameters.a%2Eb") == ["hyperparams", "Args", "a.b"]
    assert split_path("execution.model_desc") == ["configuration"]
    assert split_path("execution.model") == ["execution", "model"]
    doc = {"id": "t", "hyperparams": {"sec.tion": {"p": 1}, "other": {}}}
    assert only_fields(doc, ["hyperparams.sec%2Etion"]) == {
        "id": "t",
        "hyperparams": {"sec.tion": {"p": 1}},
    }
