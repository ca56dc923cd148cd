"""get_all end to end: filters, paging and its cap, order_by (SEMANTICS §5)."""

from __future__ import annotations

import pytest

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tests.integration.task_commands_support import new_task, task_in


def _ids(client: Client, **filters: object) -> set[str]:
    return {v.id for v in client.get_all(**filters)}


def test_get_all_filters_by_status_project_type_and_user(client: Client) -> None:
    created = new_task(client, name="created", project="p1")
    queued = task_in(client, "queued", name="queued", project="p2", type="testing")
    running = task_in(client, "in_progress", name="running")
    bob = client.as_caller(client.caller.company, "bob")
    bobs = new_task(bob, name="bob's", project="p1")

    assert _ids(client, status=["created", "queued"]) == {created, queued, bobs}
    assert _ids(client, status="in_progress") == {running}
    assert _ids(client, status=["failed"]) == set()
    assert _ids(client, project=["p1"]) == {created, bobs}
    assert _ids(client, project=["p1", "p2"]) == {created, queued, bobs}
    assert _ids(client, type=["testing"]) == {queued}
    assert _ids(client, user=["bob"]) == {bobs}
    assert _ids(client, status=["created"], project=["p1"], user=["alice"]) == {created}
    assert _ids(client, id=[running, queued]) == {running, queued}


def test_get_all_tags_are_any_of(client: Client) -> None:
    x = new_task(client, name="has x", tags=["x"])
    y = new_task(client, name="has y", tags=["y"])
    xy = new_task(client, name="has xy", tags=["y", "x"])
    new_task(client, name="untagged")
    sys = new_task(client, name="has sys", system_tags=["x"])

    assert _ids(client, tags=["x"]) == {x, xy}
    assert _ids(client, tags=["x", "y"]) == {x, y, xy}
    assert _ids(client, tags=["z"]) == set()
    assert _ids(client, system_tags=["x"]) == {sys}
    assert client.get_by_id(xy).tags == ["x", "y"]


def test_get_all_pages_through_an_ordered_list(client: Client) -> None:
    ids = [new_task(client, name=f"task {i}") for i in range(7)]
    full = [v.id for v in client.get_all(order_by=["name"])]
    assert full == ids

    pages = [
        [v.id for v in client.get_all(order_by=["name"], page=p, page_size=3)] for p in range(4)
    ]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [t for page in pages for t in page] == full


def test_get_all_answers_at_most_500_rows(client: Client) -> None:
    for i in range(501):
        new_task(client, name=f"bulk {i:03d}")
    assert len(client.get_all()) == 500
    assert len(client.get_all(page_size=1000)) == 500
    assert len(client.get_all(page=0, page_size=500)) == 500
    last_page = client.get_all(page=1, page_size=1000, order_by=["name"])
    assert [v.name for v in last_page] == ["bulk 500"]


def test_get_all_order_by_descending_and_ties_by_id(client: Client) -> None:
    b = new_task(client, name="bbb")
    a = new_task(client, name="aaa")
    c = new_task(client, name="ccc")
    same = [new_task(client, name="same") for _ in range(4)]

    assert [v.id for v in client.get_all(order_by=["-name"])] == [*sorted(same), c, b, a]
    assert [v.id for v in client.get_all(order_by=["name"])] == [a, b, c, *sorted(same)]
    assert [v.id for v in client.get_all(id=same)] == sorted(same)


def test_get_all_order_by_several_fields(client: Client) -> None:
    c1 = new_task(client, name="cc1")
    c2 = new_task(client, name="cc2")
    r1 = task_in(client, "in_progress", name="rr1")
    r2 = task_in(client, "in_progress", name="rr2")
    order = [v.id for v in client.get_all(order_by=["-status", "-name"])]
    assert order == [r2, r1, c2, c1]


def test_get_all_missing_values_sort_last_when_ascending(client: Client) -> None:
    never = [new_task(client, name=f"never {i}") for i in range(2)]
    first = task_in(client, "in_progress", name="first")
    second = task_in(client, "in_progress", name="second")

    ascending = [v.id for v in client.get_all(order_by=["started"])]
    assert ascending == [first, second, *sorted(never)]
    descending = [v.id for v in client.get_all(order_by=["-started"])]
    assert descending.index(second) < descending.index(first)


def test_get_all_refuses_a_negative_page(client: Client) -> None:
    with pytest.raises(DomainError) as refused:
        client.get_all(page=-1)
    assert refused.value.code == 400
    with pytest.raises(DomainError) as refused:
        client.get_all(page_size=0)
    assert refused.value.code == 400


def test_get_types_lists_the_distinct_types_in_use_optionally_in_projects(client: Client) -> None:
    """tasks.get_types: the company's task types, each once; `projects` narrows to theirs."""
    assert client.get_types() == []
    new_task(client, type="training", project="p1")
    new_task(client, type="training", project="p1")
    new_task(client, type="testing", project="p2")
    gone = new_task(client, type="qc", project="p2")
    client.delete(task=gone)
    new_task(client, type="inference")
    assert client.get_types() == ["inference", "testing", "training"]
    assert client.get_types(projects=["p1"]) == ["training"]
    assert client.get_types(projects=["p1", "p2"]) == ["testing", "training"]
    assert client.get_types(projects=[]) == ["inference", "testing", "training"]
    assert client.get_types(projects=["nowhere"]) == []
    other = client.as_caller(f"other-{client.caller.company}", "bob")
    assert other.get_types() == []
