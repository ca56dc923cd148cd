"""serving.* over HTTP: a container's registration and departure are events of its stream
(who, when), its status reports are rows (no event per heartbeat), and the serving pages read
only the caller's live containers."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from tests.e2e.dbstate import stream_actions
from tests.e2e.http import Api


def _stream(engine: Engine, company: str, container: str) -> list[tuple[str, str]]:
    return stream_actions(engine, f"serving:{len(company)}:{company}:{container}")


def _container(name: str, url: str | None) -> dict[str, object]:
    return {
        "container_id": name,
        "endpoint_name": "ep",
        "model_name": "m",
        **({"endpoint_url": url} if url else {}),
    }


def test_facts_are_events_and_heartbeats_are_rows(
    new_caller: Callable[..., Api], e2e_engine: Engine
) -> None:
    api, stranger = new_caller(user="ops"), new_caller(user="mallory")
    company = api.credential.company  # type: ignore[attr-defined]
    url = "http://serve.example/m"
    api.ok("serving.register_container", {**_container("c1", None), "timeout": 100})
    assert [i["id"] for i in api.ok("serving.get_loading_instances", {})["instances"]] == ["c1"]
    stats = {"cpu_usage": [10, 30], "memory_used": 2048}
    for n in range(3):
        report = {**_container("c1", url), "requests_num": 10 * (n + 1), "machine_stats": stats}
        api.ok("serving.container_status_report", report)
    # Registered, then registered again with a url (a new fact); the two later reports, none.
    assert _stream(e2e_engine, company, "c1") == [
        ("ServingContainerRegistered", "ops"),
        ("ServingContainerRegistered", "ops"),
    ]
    details = api.ok("serving.get_endpoint_details", {"endpoint_url": url})
    (instance,) = details["instances"]
    assert (instance["requests"], instance["cpu_count"], instance["gpu_count"]) == (30, 2, 0)
    assert [e["url"] for e in api.ok("serving.get_endpoints", {})["endpoints"]] == [url]
    assert stranger.ok("serving.get_endpoints", {})["endpoints"] == []
    assert stranger.error("serving.get_endpoint_details", {"endpoint_url": url})[:2] == (
        400,
        1052,
    )
    assert api.error("serving.container_status_report", _container("c1", None))[:2] == (400, 12)

    api.ok("serving.unregister_container", {"container_id": "c1"})
    assert _stream(e2e_engine, company, "c1")[-1] == ("ServingContainerUnregistered", "ops")
    assert api.ok("serving.get_endpoints", {})["endpoints"] == []
    assert api.error("serving.get_endpoint_details", {"endpoint_url": url})[:2] == (400, 1052)
    # Unregistering an unknown container is quiet (ClearML's default) and writes nothing.
    api.ok("serving.unregister_container", {"container_id": "never"})
    assert _stream(e2e_engine, company, "never") == []


def test_the_chart_adds_up_the_containers(api: Api) -> None:
    url = "http://serve.example/chart"
    for n, name in enumerate(("a", "b"), start=1):
        api.ok(
            "serving.container_status_report",
            {**_container(name, url), "latency_ms": 100 * n, "requests_min": 5 * n},
        )
    to_date = int(time.time()) + 40
    body = {"endpoint_url": url, "from_date": to_date - 100, "to_date": to_date, "interval": 1}
    latency = api.ok("serving.get_endpoint_metrics_history", {**body, "metric_type": "latency_ms"})
    assert latency["computed_interval"] == 40
    assert 150 in latency["total"]["values"]
    assert set(latency["instances"]) == {"a", "b"}
    per_min = api.ok(
        "serving.get_endpoint_metrics_history", {**body, "metric_type": "requests_min"}
    )
    assert 15 in per_min["total"]["values"]
    bad = {**body, "from_date": to_date, "to_date": to_date - 1}
    assert api.error("serving.get_endpoint_metrics_history", bad)[:2] == (400, 12)
