"""Limits through the Python API on real PostgreSQL: the read timeout, request ids, and the
paging and metric-range inputs that once failed inside PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError, InvalidRequest, QueryTooSlow
from tasktrack.domain.limits import MAX_KEY_LENGTH

SLOW_NAME = "a" * 1200 + "c"  # '(.*)(.*)(.*)\1\2\3c' takes PostgreSQL about 14 s over it
SLOW_PATTERN = "(.*)(.*)(.*)\\1\\2\\3c"


def _events(engine: Engine, company: str) -> int:
    with engine.connect() as conn:
        query = text("SELECT count(*) FROM events WHERE company = :c")
        return int(conn.execute(query, {"c": company}).scalar_one())


def test_a_read_past_the_read_timeout_is_refused_and_the_client_reads_on(
    client: Client, company: str
) -> None:
    client.create(name=SLOW_NAME, type="training")
    limited = Client(client.engine, client.caller, client.service, read_timeout_ms=200)
    start = time.monotonic()
    with pytest.raises(QueryTooSlow) as caught:
        limited.get_all(name=SLOW_PATTERN)
    assert time.monotonic() - start < 5
    assert caught.value.codes == (400, 16)
    assert "200 ms" in caught.value.message
    assert [t.name for t in limited.get_all(name="^a+c$")] == [SLOW_NAME]
    assert limited.as_caller(company, "bob").read_timeout_ms == 200


def test_a_request_id_is_a_key_of_at_most_255_characters(
    client: Client, company: str, engine: Engine
) -> None:
    """A longer one once failed in the idempotency index (503) after the command had run."""
    task = client.create(name="keyed", type="training", request_id="r" * MAX_KEY_LENGTH)["id"]
    before = _events(engine, company)
    with pytest.raises(InvalidRequest) as caught:
        client.started(task=task, request_id="r" * (MAX_KEY_LENGTH + 1))
    assert caught.value.codes == (400, 12)
    assert _events(engine, company) == before
    assert client.get_by_id(task).status == "created"


def test_a_projects_page_past_bigint_is_empty(client: Client) -> None:
    """Its OFFSET once overflowed a bigint (500)."""
    client.create_project(name="paged")
    assert client.get_projects(page=2**64) == []
    assert client.get_projects(page=2**62, page_size=2**64) == []
    assert [p.name for p in client.get_projects(page=0)] == ["paged"]


def test_metric_ranges_past_the_doubles_range(client: Client) -> None:
    """Integer bounds beyond doubles were once sent as a bigint (500); they compare as the
    infinities they exceed."""
    task = client.create(name="metric", type="training")["id"]
    client.started(task=task)
    client.add_events([{"task": task, "type": "training_stats_scalar", "metric": "m", "value": 2}])
    (pair,) = [(m, v) for m, vs in client.get_by_id(task).last_metrics.items() for v in vs]
    key = f"last_metrics.{pair[0]}.{pair[1]}.value"
    assert client.get_all(**{key: [10**400, None]}) == []
    assert [t.id for t in client.get_all(**{key: [None, 10**400]})] == [task]
    assert [t.id for t in client.get_all(**{key: [-(10**400), 2]})] == [task]


def test_filters_past_the_parameter_limit_are_400_16_not_a_lost_connection(
    client: Client,
) -> None:
    """70 000 ids once broke the statement's 65535-parameter limit (503)."""
    with pytest.raises(DomainError) as caught:
        client.get_all(id=[f"{i:032x}" for i in range(70_000)])
    assert caught.value.codes == (400, 16)
    with pytest.raises(DomainError) as caught:
        client.get_projects(id=[str(i) for i in range(70_000)])
    assert caught.value.codes == (400, 16)
