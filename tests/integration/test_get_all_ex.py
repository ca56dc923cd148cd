"""get_all's ClearML additions against PostgreSQL: structured `filters`, `_any_`/`_all_`
datetimes, ordering by hyperparameter values, and the parameter list queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tasktrack.api import Client
from tasktrack.queries.filter_request import GetAllRequest, request_from
from tests.integration.task_commands_support import expect_error, new_task


def _ids(client: Client, **body: Any) -> list[str]:
    return [t.id for t in client.query_all(request_from(body, GetAllRequest))]


def test_filters_any_and_all_with_include_exclude_and_null(client: Client) -> None:
    tags = ["a", "b", "c", "d"]
    tasks = [new_task(client, tags=tags[:i]) for i in range(5)]

    def got(**filters: Any) -> set[str]:
        return set(_ids(client, id=tasks, filters={"tags": filters}))

    assert got(any={"include": ["a", "b"]}) == set(tasks[1:])
    assert got(any={"exclude": ["c", "d"]}) == set(tasks[:-1])
    assert got(all={"include": ["a", "b"]}) == set(tasks[2:])
    assert got(all={"exclude": ["c", "d"]}) == set(tasks[:-2])
    assert got(all={"include": ["a", "b"], "exclude": ["c", "d"]}) == {tasks[2]}
    assert got(any={"include": ["a", "b"]}, all={"exclude": ["c", "d"]}) == set(tasks[1:-2])
    assert got(any={"include": ["d"]}, all={"include": [None]}, op="or") == {tasks[0], tasks[4]}
    assert got(any={"include": [None]}) == {tasks[0]}
    assert got(any={"exclude": [None]}) == set(tasks[1:])
    assert got(all={"include": ["a", None]}) == set()


def test_any_all_datetime_on_a_field_a_task_does_not_have(client: Client) -> None:
    before = datetime.now(UTC).isoformat()
    fresh = new_task(client)
    client.ping(task=fresh)
    fields = ["last_update", "status_changed"]
    assert fresh in _ids(client, _any_={"datetime": f">={before}", "fields": fields})
    # a created task has no status_changed yet: it fails _all_, until its status changes
    assert fresh not in _ids(client, _all_={"datetime": [before, None], "fields": fields})
    client.started(task=fresh)
    assert fresh in _ids(client, _all_={"datetime": [before, None], "fields": fields})
    assert fresh not in _ids(client, _all_={"datetime": f"<{before}", "fields": fields})
    expect_error((400, 12), _ids, client, _any_={"fields": fields})


def test_orders_by_hyperparameter_values_numbers_as_numbers(client: Client) -> None:
    def param(value: str) -> dict[str, Any]:
        return {"s": {"p": {"section": "s", "name": "p", "value": value}}}

    tasks = [new_task(client, hyperparams=param(v)) for v in ("1", "2", "11", "x")]
    missing = new_task(client)
    every = [*tasks, missing]
    assert _ids(client, id=every, order_by=["hyperparams.s.p.value"]) == every
    assert _ids(client, id=every, order_by=["-hyperparams.s.p"]) == [*reversed(tasks), missing]


def test_parameter_lists(client: Client) -> None:
    task = new_task(
        client,
        hyperparams={"s": {"b": {"section": "s", "name": "b", "value": "2"},
                           "a": {"section": "s", "name": "a", "value": "1"}}},
        configuration={"z": {"name": "z", "value": "v"}, "e": {"name": "e", "value": ""}},
    )  # fmt: skip
    [params] = client.get_hyper_params([task])
    assert [(p.name, p.value) for p in params.hyperparams] == [("a", "1"), ("b", "2")]
    [conf] = client.get_configurations([task], names=["z"])
    assert [c.name for c in conf.configuration] == ["z"]
    [names] = client.get_configuration_names([task])
    assert names.names == ["z"]
    [names] = client.get_configuration_names([task], skip_empty=False)
    assert names.names == ["e", "z"]
    expect_error((400, 101), client.get_hyper_params, [task, "0" * 32])
