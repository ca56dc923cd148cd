"""What projects' tasks take and report, read for the SDK's optimizer and the UI's filters:
hyperparameter names and one parameter's values, metric/variant pairs, and model tags."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain.errors import BadFilter
from tasktrack.service import Caller


def _params(**values: str) -> dict[str, dict[str, dict[str, str]]]:
    """{"sec/name": value} as ClearML's hyperparams map."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for key, value in values.items():
        section, name = key.split("__")
        out.setdefault(section, {})[name] = {"section": section, "name": name, "value": value}
    return out


@pytest.fixture
def world(engine: Engine) -> tuple[Client, dict[str, str]]:
    """Tasks in a project, in its child, and in another project (and another company's)."""
    company = f"params-{uuid.uuid4().hex[:8]}"
    client = Client(engine, Caller(company=company, user="ann"))
    ids = {
        "root": str(client.create_project(name="opt")["id"]),
        "other": str(client.create_project(name="elsewhere")["id"]),
    }
    ids["child"] = str(client.create_project(name="opt/child")["id"])
    for i, (project, params) in enumerate(
        [
            ("root", _params(General__lr="0.1", General__batch="32", Args__seed="1")),
            ("root", _params(General__lr="0.01", Args__seed="11")),
            ("child", _params(General__lr="0.1", Zeta__x="Constant")),
            ("other", _params(Other__only="here")),
        ]
    ):
        task = str(
            client.create(
                name=f"trial {i}", type="optimizer", project=ids[project], hyperparams=params
            )["id"]
        )
        ids[f"task{i}"] = task
    stranger = Client(engine, Caller(company=company + "-x", user="eve"))
    stranger.create(name="theirs", type="training", hyperparams=_params(General__lr="9"))
    return client, ids


def test_hyper_parameter_names_are_distinct_sorted_and_paged(
    world: tuple[Client, dict[str, str]],
) -> None:
    client, ids = world
    names = client.project_hyper_parameters(ids["root"])
    assert names.parameters == [
        {"section": "Args", "name": "seed"},
        {"section": "General", "name": "batch"},
        {"section": "General", "name": "lr"},
        {"section": "Zeta", "name": "x"},  # the child project's, included by default
    ]
    assert (names.total, names.remaining) == (4, 0)
    own = client.project_hyper_parameters(ids["root"], include_subprojects=False)
    assert {"section": "Zeta", "name": "x"} not in own.parameters
    page = client.project_hyper_parameters(ids["root"], page=1, page_size=2)
    assert page.parameters == names.parameters[2:4]
    assert (page.total, page.remaining) == (4, 0)
    first = client.project_hyper_parameters(ids["root"], page=0, page_size=1)
    assert (first.parameters, first.remaining) == (names.parameters[:1], 3)


def test_no_project_is_every_task_or_without_sub_projects_the_project_less_ones(
    world: tuple[Client, dict[str, str]],
) -> None:
    """As ClearML: no project with include_subprojects (the default) reads every task of the
    company; without it, only the tasks in no project (the top level)."""
    client, _ = world
    every = client.project_hyper_parameters(None)
    assert {"section": "Other", "name": "only"} in every.parameters
    assert client.project_hyper_parameters(None, include_subprojects=False).parameters == []
    client.create(name="loose", type="training", hyperparams=_params(Loose__k="v"))
    top = client.project_hyper_parameters(None, include_subprojects=False)
    assert top.parameters == [{"section": "Loose", "name": "k"}]
    values = client.project_hyperparam_values(None, "General", "lr", include_subprojects=False)
    assert values.values == ["0.01", "0.1"]  # a list of projects: absent is no constraint


def test_hyperparam_values_are_distinct_sorted_and_filtered_by_pattern(
    world: tuple[Client, dict[str, str]],
) -> None:
    client, ids = world
    lr = client.project_hyperparam_values([ids["root"]], "General", "lr")
    assert (lr.total, lr.values) == (2, ["0.01", "0.1"])  # the child's 0.1 is the same value
    seeds = client.project_hyperparam_values([ids["root"]], "Args", "seed", pattern="^1")
    assert seeds.values == ["1", "11"]
    assert client.project_hyperparam_values(
        [ids["root"]], "Args", "seed", pattern="^11"
    ).values == ["11"]
    assert client.project_hyperparam_values([ids["root"]], "Zeta", "x", pattern="CONST").values == [
        "Constant"  # the pattern ignores case, as ClearML's
    ]
    missing = client.project_hyperparam_values([ids["root"]], "missing", "missing")
    assert (missing.total, missing.values) == (0, [])
    everywhere = client.project_hyperparam_values(None, "General", "lr")
    assert everywhere.values == ["0.01", "0.1"]  # never another company's "9"
    with pytest.raises(BadFilter, match="pattern"):
        client.project_hyperparam_values([ids["root"]], "Args", "seed", pattern="(")


def test_metric_variants_of_a_project_or_of_tasks(world: tuple[Client, dict[str, str]]) -> None:
    client, ids = world
    for task, metric in ((ids["task0"], "loss"), (ids["task2"], "acc"), (ids["task3"], "x")):
        client.started(task=task)
        client.add_events(
            [
                {
                    "task": task,
                    "type": "training_stats_scalar",
                    "metric": metric,
                    "variant": "val",
                    "value": 0.5,
                    "iter": 1,
                }
            ]
        )
    pairs = client.project_metric_variants(ids["root"])
    assert [(p["metric"], p["variant"]) for p in pairs] == [("acc", "val"), ("loss", "val")]
    assert all(len(p["metric_hash"]) == 32 == len(p["variant_hash"]) for p in pairs)
    assert [p["metric"] for p in client.project_metric_variants(task_ids=[ids["task0"]])] == [
        "loss"
    ]
    assert [p["metric"] for p in client.project_metric_variants(ids["other"])] == ["x"]


def test_model_tags_of_projects(world: tuple[Client, dict[str, str]]) -> None:
    client, ids = world
    client.create_model(name="m1", uri="file:///m1", project=ids["child"], tags=["best", "b"])
    client.create_model(name="m2", uri="file:///m2", project=ids["other"], tags=["elsewhere"])
    assert client.project_tags("models", [ids["root"]]).tags == ["b", "best"]
    assert client.project_tags("models", None).tags == ["b", "best", "elsewhere"]
