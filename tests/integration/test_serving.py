"""Serving containers against PostgreSQL: registrations and departures in the log, status
reports as rows (and chart values), a registration recorded once however many report at
once, and a container that timed out listed no more."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain import serving as rules
from tasktrack.queries.serving import NoContainersForUrl
from tests.integration.task_commands_support import event_count, expect_error, stream_types

URL = "http://serve/m"


def _container(name: str, **f: Any) -> dict[str, Any]:
    return {"container_id": name, "endpoint_name": "ep", "model_name": "m", **f}


def _reports(engine: Engine, company: str, container: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM serving_reports WHERE company = :c AND container = :k"),
                {"c": company, "k": container},
            ).scalar_one()
        )


def test_reports_are_rows_and_only_new_facts_are_events(
    client: Client, engine: Engine, company: str
) -> None:
    client.register_container(**_container("c1", endpoint_url=URL))
    before = event_count(engine, company)
    for n in range(20):
        client.report_container_status(**_container("c1", endpoint_url=URL), requests_num=n)
        time.sleep(0.002)  # one chart value per millisecond at most
    assert event_count(engine, company) == before
    assert _reports(engine, company, "c1") == 20
    (instance,) = client.serving_endpoint(URL)["instances"]
    assert instance["requests"] == 19
    # Another model at the same url is a new fact; leaving is one too.
    client.report_container_status(**_container("c1", endpoint_url=URL, model_name="m2"))
    client.unregister_container(container_id="c1")
    assert stream_types(engine, rules.stream_of(company, "c1")) == [
        "ServingContainerRegistered",
        "ServingContainerRegistered",
        "ServingContainerUnregistered",
    ]
    expect_error((400, 1052), client.serving_endpoint, URL)
    assert NoContainersForUrl.subcode == 1052


def test_concurrent_first_reports_register_once(
    client: Client, engine: Engine, company: str
) -> None:
    def report() -> None:
        client.report_container_status(**_container("busy", endpoint_url=URL), requests_num=1)

    threads = [threading.Thread(target=report) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stream_types(engine, rules.stream_of(company, "busy")) == ["ServingContainerRegistered"]


def test_a_container_past_its_timeout_is_listed_no_more_and_registers_again(
    client: Client, engine: Engine, company: str
) -> None:
    client.register_container(**_container("brief", endpoint_url=URL), timeout=1)
    assert [e["url"] for e in client.serving_endpoints()] == [URL]
    time.sleep(1.2)
    assert client.serving_endpoints() == []
    client.report_container_status(**_container("brief", endpoint_url=URL))
    assert [e["instances"] for e in client.serving_endpoints()] == [1]
    assert stream_types(engine, rules.stream_of(company, "brief")) == [
        "ServingContainerRegistered",
        "ServingContainerRegistered",
    ]
