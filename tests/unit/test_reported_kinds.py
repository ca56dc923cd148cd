"""Sorting an events body by kind (domain/reports.py): ClearML's types, names, payload events."""

from __future__ import annotations

from datetime import UTC, datetime

from tasktrack.domain import reports
from tasktrack.domain.events import TaskEventsReceived, TaskEventsStored
from tasktrack.domain.evolve import evolve
from tasktrack.domain.reports import LogLine, RawEvent

NOW = 1_700_000_000_000


def test_only_clearmls_event_types_are_taken() -> None:
    assert reports.classify({"task": "t", "type": "unknown type"}, NOW) == (
        "Invalid event type unknown_type"
    )
    image = reports.classify({"task": "t", "type": "training debug image", "iter": 3}, NOW)
    assert isinstance(image, RawEvent)
    assert image.type == "training_debug_image"
    assert image.body == {
        "type": "training_debug_image",
        "iter": 3,
        "metric": "",
        "variant": "",
        "timestamp": NOW,
    }


def test_metric_and_variant_must_be_strings() -> None:
    bad = reports.classify({"task": "t", "type": "plot", "metric": 3}, NOW)
    assert isinstance(bad, str)
    assert bad.startswith("Invalid event: metric and variant")
    nul = reports.classify({"task": "t", "type": "log", "msg": "x", "variant": "a\x00"}, NOW)
    assert isinstance(nul, str)


def test_console_lines_keep_their_metric_only_when_one_names_it() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    named = reports.classify({"task": "t", "type": "log", "msg": "x", "metric": "m"}, NOW)
    plain = reports.classify({"task": "t", "type": "log", "msg": "y"}, NOW)
    assert isinstance(named, LogLine)
    assert isinstance(plain, LogLine)
    assert (named.metric, named.variant) == ("m", "")
    both = reports.task_logged(at, "u", [named, plain])
    assert (both.metrics, both.variants) == (["m", ""], ["", ""])
    alone = reports.task_logged(at, "u", [plain])
    assert (alone.metrics, alone.variants) == ([], [])


def test_a_report_is_a_small_fact_and_its_payloads() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    raws = [
        RawEvent(task="t", type="plot", body={"type": "plot", "iter": it}, iter=it)
        for it in (4, None, 9)
    ]
    received, stored = reports.events_reported(at, "u", raws)
    assert received == TaskEventsReceived(at=at, by="u", count=3, last_iteration=9)
    assert stored == TaskEventsStored(at=at, by="u", events=[r.body for r in raws])
    nothing = reports.events_reported(at, "u", raws[1:2])[0]
    assert nothing.last_iteration is None


def test_the_payload_event_changes_nothing_of_the_task() -> None:
    from tasktrack.domain.events import TaskCreated

    at = datetime(2026, 1, 1, tzinfo=UTC)
    created = evolve(
        None, TaskCreated(at=at, by="u", task_id="t", company="c", name="task", type="training")
    )
    later = datetime(2026, 1, 2, tzinfo=UTC)
    received = evolve(created, TaskEventsReceived(at=later, by="u", count=1, last_iteration=5))
    assert (received.last_iteration, received.last_update) == (5, later)
    stored = evolve(received, TaskEventsStored(at=later, by="u", events=[{"x": 1}]))
    assert stored == evolve(received, TaskEventsStored(at=at, by="", events=[]))
    assert stored.version == received.version + 1
