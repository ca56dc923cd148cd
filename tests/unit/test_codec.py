"""Event payloads: one tagged union, round trips, upcaster chains checked at start-up."""

from __future__ import annotations

import typing

import msgspec
import pytest

from tasktrack.domain import codec, upcasting
from tasktrack.domain.events import AnyEvent, TaskChanges, TaskCreated, TaskEdited
from tasktrack.domain.values import Execution, ParamItem
from tests import factories


def test_every_event_type_is_in_the_union_under_its_class_name() -> None:
    classes = typing.get_args(AnyEvent)
    assert set(codec.EVENT_CLASSES) == {cls.__name__ for cls in classes}
    assert len(codec.EVENT_CLASSES) == len(classes)


def test_round_trip_keeps_every_field() -> None:
    event = factories.created(
        "t1",
        tags=["b", "a"],
        execution=Execution(queue="q", parameters={"lr": 0.1}),
        hyperparams={"Args": {"lr": ParamItem(section="Args", name="lr", value="0.1")}},
        runtime={"gpu": 1e16},
    )
    data = codec.encode(event)
    assert codec.decode("TaskCreated", 1, data) == event


def test_payload_is_self_describing() -> None:
    data = msgspec.json.decode(codec.encode(factories.pinged()))
    assert data["event"] == "TaskPinged"


def test_unset_fields_are_absent_from_the_payload() -> None:
    edited = TaskEdited(at=factories.now(), by="u", changes=TaskChanges(name="new name"))
    payload = msgspec.json.decode(codec.encode(edited))
    assert payload["changes"] == {"name": "new name"}


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(codec.UnknownEventType):
        codec.decode("NoSuchEvent", 1, b"{}")


def test_shipped_upcasters_reach_every_current_version() -> None:
    codec.check_upcasters()


def test_a_gap_in_an_upcaster_chain_is_found() -> None:
    def lift(p: dict[str, object]) -> dict[str, object]:
        return p

    with pytest.raises(upcasting.UpcasterGap, match=r"X: no upcaster from version 2 to 3"):
        upcasting.check_chains({"X": 3}, {("X", 1): lift})
    with pytest.raises(upcasting.UpcasterGap, match="unknown event type Y"):
        upcasting.check_chains({"X": 1}, {("Y", 1): lift})
    with pytest.raises(upcasting.UpcasterGap, match="current version is 2"):
        upcasting.check_chains({"X": 2}, {("X", 1): lift, ("X", 2): lift})


def test_upcasting_applies_each_step_in_order() -> None:
    steps = {
        ("X", 1): lambda p: {**p, "unit": "s"},
        ("X", 2): lambda p: {**p, "value": p["value"] * 1000, "unit": "ms"},
    }
    assert upcasting.upcast("X", 1, {"value": 2}, 3, steps) == {"value": 2000, "unit": "ms"}
    assert upcasting.upcast("X", 3, {"value": 2}, 3, steps) == {"value": 2}


def test_decode_upcasts_an_old_payload_into_the_current_struct() -> None:
    # Pretend TaskCreated payloads written at version 1 lacked `comment` and version 2 is current.
    event = factories.created("t1", comment="from v1")
    old = msgspec.json.decode(codec.encode(event))
    old.pop("comment")
    steps = {("TaskCreated", 1): lambda p: {**p, "comment": "from v1"}}
    versions = {**codec.CURRENT_VERSIONS, "TaskCreated": 2}
    upcasting.check_chains(versions, steps)
    lifted = upcasting.upcast("TaskCreated", 1, old, 2, steps)
    assert msgspec.convert(lifted, TaskCreated) == event
