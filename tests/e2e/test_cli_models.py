"""`tasktrack models` (list, show, history) and the models and artifacts of `tasks show`, as a
user drives them; an export imported elsewhere has the same models and model histories."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import tasktrack
from tasktrack.api import Client
from tasktrack.queries.models import ModelView
from tasktrack.store.engine import make_engine
from tests import settle
from tests.e2e.cli import as_json, company_command, ok, run

Tt = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli_group() -> str:
    return "models"


def _trained(client: Client) -> tuple[str, str, str]:
    """A task with an input model (published, made by hand) and an output model (its weights
    saved twice), and an artifact: (task, input model, output model)."""
    base = str(
        client.create_model(uri="file:///m/base.pt", name="base", framework="PyTorch", ready=False)[
            "id"
        ]
    )
    client.set_model_ready(model=base, publish_task=False)
    task = str(client.create(name="fine-tune", type="training")["id"])
    client.add_or_update_model(task=task, name="init", model=base, type="input")
    client.started(task=task)
    out = str(client.update_model_for_task(task=task, uri="file:///m/v1.pt", name="tuned")["id"])
    client.edit_model(model=out, uri="file:///m/v2.pt")
    artifact = {"key": "confusion", "type": "image", "uri": "file:///a/c.png", "content_size": 2048}
    client.add_or_update_artifacts(task=task, artifacts=[artifact])
    return task, base, out


def test_list_filters_and_shows_models_as_a_table_and_as_json(client: Client, tt: Tt) -> None:
    _, base, out = _trained(client)
    other = str(
        client.create_model(uri="file:///m/x.pt", name="other", tags=["keep"], ready=False)["id"]
    )

    table = ok(tt("list"))
    [base_line] = [line for line in table.splitlines() if base in line]
    for value in ("base", "yes", "PyTorch", "alice"):
        assert value in base_line
    document = as_json(tt("list", "--json"))
    assert [m["id"] for m in document["models"]] == [other, out, base]  # newest first
    assert set(document["models"][0]) == set(ModelView.__struct_fields__)

    def ids(*options: str) -> list[str]:
        return [m["id"] for m in as_json(tt("list", "--json", *options))["models"]]

    assert ids("--published") == [base]
    assert ids("--unpublished") == [other, out]
    assert ids("--name", "^tun") == [out]
    assert ids("--tag", "keep") == [other]
    assert ids("--tag", "-keep") == [out, base]
    assert ids("--framework", "PyTorch") == [base]
    assert ids("--user-filter", "nobody") == []
    assert ids("--page-size", "1", "--page", "1") == [out]


def test_show_prints_the_fields_and_metadata(client: Client, tt: Tt) -> None:
    _, base, _ = _trained(client)
    client.add_or_update_model_metadata(
        model=base, metadata=[{"key": "accuracy", "type": "float", "value": "0.93"}]
    )
    shown = ok(tt("show", base))
    for value in ("file:///m/base.pt", "PyTorch", "yes", "accuracy", "0.93"):
        assert value in shown
    document = as_json(tt("show", base, "--json"))
    assert document["id"] == base
    assert document["ready"] is True
    assert document["metadata"]["accuracy"]["value"] == "0.93"


def test_history_is_every_event_who_and_what(client: Client, tt: Tt, company: str) -> None:
    _, base, _ = _trained(client)
    bob_client = client.as_caller(company, "bob")
    bob_client.update_model_tags(ids=[base], add_tags=["golden"])
    bob_client.archive_models(ids=[base])

    document = as_json(tt("history", base, "--json"))
    assert document["model"] == base
    steps = [(h["version"], h["user"], h["event"]) for h in document["history"]]
    assert steps == [
        (1, "alice", "ModelCreated"),
        (2, "alice", "ModelPublished"),
        (3, "bob", "ModelTagsUpdated"),
        (4, "bob", "ModelArchived"),
    ]
    created, _, tagged, _ = document["history"]
    assert created["changes"]["uri"] == "file:///m/base.pt"
    assert "model_id" not in created["changes"]
    assert tagged["changes"] == {"tags": ["golden"]}
    times = [h["at"] for h in document["history"]]
    assert times == sorted(times)

    table = ok(tt("history", base))
    [line] = [line for line in table.splitlines() if "ModelTagsUpdated" in line]
    assert "bob" in line
    assert 'tags=["golden"]' in line


def test_a_deleted_models_history_still_reads(client: Client, tt: Tt) -> None:
    model = str(client.create_model(uri="file:///m/gone.pt", name="gone", ready=False)["id"])
    client.edit_model(model=model, name="renamed", comment="why not")
    client.delete_model(model=model)
    refused = tt("show", model)
    assert refused.returncode == 1
    assert f"Invalid model id: id={model}" in refused.stderr
    document = as_json(tt("history", model, "--json"))
    events = [h["event"] for h in document["history"]]
    assert events == ["ModelCreated", "ModelEdited", "ModelDeleted"]
    assert document["history"][1]["changes"] == {"name": "renamed", "comment": "why not"}


def test_unknown_and_other_companies_models_are_exit_1(client: Client, tt: Tt) -> None:
    model = str(client.create_model(uri="file:///m/mine.pt", name="mine", ready=False)["id"])
    for command in ("show", "history"):
        unknown = tt(command, "no-such-model")
        assert unknown.returncode == 1
        assert unknown.stderr.strip() == "tasktrack: Invalid model id: id=no-such-model"
        foreign = tt(command, model, company_="someone-else")
        assert foreign.returncode == 1, foreign.stdout
        assert "Invalid model id" in foreign.stderr
    assert as_json(tt("list", "--json", company_="someone-else"))["models"] == []
    bad = tt("list", "--name", "(unclosed")
    assert bad.returncode == 1
    assert "invalid regular expression" in bad.stderr


def test_tasks_show_lists_the_tasks_models_and_artifacts(
    client: Client, cli_database: str, company: str
) -> None:
    task, base, out = _trained(client)
    tasks_tt = company_command("tasks", cli_database, company)
    shown = ok(tasks_tt("show", task))
    [input_line] = [line for line in shown.splitlines() if base in line]
    for value in ("input", "init", "base", "yes", "file:///m/base.pt"):
        assert value in input_line
    [output_line] = [line for line in shown.splitlines() if out in line]
    for value in ("output", "Output Model", "tuned", "file:///m/v2.pt"):
        assert value in output_line
    assert "yes" not in output_line
    [artifact_line] = [line for line in shown.splitlines() if "confusion" in line]
    for value in ("image", "output", "2048", "file:///a/c.png"):
        assert value in artifact_line

    document = as_json(tasks_tt("show", task, "--json"))
    assert document["model_entries"] == [
        {
            "type": "input",
            "name": "init",
            "model": base,
            "model_name": "base",
            "uri": "file:///m/base.pt",
            "ready": True,
        },
        {
            "type": "output",
            "name": "Output Model",  # the entry update_for_task names, as ClearML
            "model": out,
            "model_name": "tuned",
            "uri": "file:///m/v2.pt",
            "ready": False,
        },
    ]
    assert document["execution"]["artifacts"][0]["key"] == "confusion"


def test_export_and_import_carry_the_models_and_their_histories(
    new_migrated_database: Callable[[], str], new_database: Callable[[], str], tmp_path: Path
) -> None:
    source_url = new_migrated_database()
    with tasktrack.connect(source_url, company="acme", user="alice") as client:
        _, base, out = _trained(client)
        client.edit_model(model=out, comment="second try")
        client.move_models(ids=[out], project_name="vision/models")
        client.make_models_public(ids=[base])
        gone = str(client.create_model(uri="file:///m/gone.pt", name="gone", ready=False)["id"])
        client.delete_model(model=gone)
    engine = make_engine(source_url, pool_size=1)
    try:
        settle.horizon_reaches_end(engine)
    finally:
        engine.dispose()
    path = tmp_path / "log.jsonl"
    source = {"TASKTRACK_DATABASE_URL": source_url}
    assert run("export", "-o", str(path), env=source).returncode == 0
    target_url = new_database()
    target = {"TASKTRACK_DATABASE_URL": target_url}
    assert run("db", "upgrade", env=target).returncode == 0
    imported = run("import", str(path), "--unsigned", env=target)
    assert imported.returncode == 0, imported.stderr
    verified = run("projections", "verify", env=target)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    def models_of(url: str, *args: str) -> str:
        return ok(run("models", "--company", "acme", *args, env={"TASKTRACK_DATABASE_URL": url}))

    before = json.loads(models_of(source_url, "list", "--json"))["models"]
    assert {m["id"] for m in before} == {base, out}
    assert json.loads(models_of(target_url, "list", "--json"))["models"] == before
    for model in (base, out, gone):
        history = models_of(source_url, "history", model, "--json")
        assert json.loads(models_of(target_url, "history", model, "--json")) == json.loads(history)


def test_tasks_show_cuts_a_long_artifact_list_but_json_has_them_all(
    client: Client, cli_database: str, company: str
) -> None:
    task = str(client.create(name="many artifacts", type="data_processing")["id"])
    artifacts = [{"key": f"part-{i:02}", "type": "custom"} for i in range(25)]
    client.add_or_update_artifacts(task=task, artifacts=artifacts)
    tasks_tt = company_command("tasks", cli_database, company)
    shown = ok(tasks_tt("show", task))
    assert sum("part-" in line for line in shown.splitlines()) == 20
    assert "… and 5 more" in shown
    document = as_json(tasks_tt("show", task, "--json"))
    assert len(document["execution"]["artifacts"]) == 25
    assert document["model_entries"] == []
