"""The pure rules and fold of a model: what a decision emits, and what a fold makes of it."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain import model_rules as rules
from tasktrack.domain.context import Context
from tasktrack.domain.model_errors import ModelIsReady
from tasktrack.domain.models import ModelState, evolve, fold

CTX = Context(now=datetime(2026, 1, 1, tzinfo=UTC), user="u1", company="co")


def _model(**kw: object) -> ModelState:
    """A draft model (not ready) unless `ready` says otherwise."""
    c = msgspec.convert({"name": "m", "uri": "file:///a", "ready": False, **kw}, mc.CreateModel)
    state = fold(rules.create(c, CTX, "m1"))
    assert state is not None
    return state


def test_create_folds_into_the_model() -> None:
    state = _model(labels={"a": 1}, tags=["b", "a", "b"])
    assert (state.id, state.company, state.user, state.ready) == ("m1", "co", "u1", False)
    assert state.tags == ["a", "b"]


def test_a_model_is_created_ready_unless_the_request_says_not() -> None:
    """ClearML's models.create defaults `ready` to true (its suite relies on it)."""
    c = mc.CreateModel(name="m", uri="file:///a")
    state = fold(rules.create(c, CTX, "m1"))
    assert state is not None
    assert state.ready


def test_only_what_differs_becomes_an_event() -> None:
    state = _model()
    assert rules.change(state, mc.EditModel(model="m1", uri="file:///a", name="m"), CTX) == []
    events = rules.change(state, mc.EditModel(model="m1", uri="file:///b", project="p"), CTX)
    assert [type(e) for e in events] == [ev.ModelWeightsUpdated, ev.ModelMoved]
    after = fold(events, state)
    assert after is not None
    assert (after.uri, after.project) == ("file:///b", "p")


def test_a_published_model_stays_editable_as_in_clearml() -> None:
    """ClearML's SDK creates its output models ready (the default) and then edits their
    weights: a ready model's fields all stay editable; only publishing it again is refused."""
    state = fold(rules.publish(_model(), CTX), _model())
    assert state is not None
    assert state.ready
    with pytest.raises(ModelIsReady):
        rules.publish(state, CTX)
    edit = mc.EditModel(model="m1", uri="file:///b", labels={"x": 1}, task="t")
    events = rules.change(state, edit, CTX)
    assert [type(e) for e in events] == [ev.ModelEdited, ev.ModelWeightsUpdated]
    after = fold(events, state)
    assert after is not None
    assert (after.ready, after.uri, after.labels, after.task) == (True, "file:///b", {"x": 1}, "t")


def test_unpublishing_is_a_fact() -> None:
    state = fold(rules.publish(_model(), CTX), _model())
    assert state is not None
    edit = mc.EditModel(model="m1", ready=False, uri="file:///b")
    events = rules.change(state, edit, CTX)
    assert [type(e) for e in events] == [ev.ModelUnpublished, ev.ModelWeightsUpdated]
    after = fold(events, state)
    assert after is not None
    assert (after.ready, after.uri) == (False, "file:///b")
    assert rules.change(after, mc.UpdateModel(model="m1", ready=False), CTX) == []


def test_metadata_archive_and_delete_fold() -> None:
    state = _model(metadata={"k": {"key": "k", "value": "1"}})
    upsert = mc.AddOrUpdateModelMetadata(model="m1", metadata=[ev.MetadataItem(key="j")])
    state = fold(rules.upsert_metadata(state, upsert, CTX), state)
    assert state is not None
    assert [m.key for m in state.metadata] == ["k", "j"]
    state = fold(rules.archive(state, CTX), state)
    assert state is not None
    assert state.system_tags == ["archived"]
    assert rules.archive(state, CTX) == []
    model_events, task_events = rules.delete(state, CTX, None, force=False)
    assert task_events == []
    assert evolve(state, model_events[0]).deleted


def test_an_event_before_creation_is_refused() -> None:
    with pytest.raises(ValueError, match="before ModelCreated"):
        evolve(None, ev.ModelPublished(at=CTX.now, by="u1"))


def test_update_tags_adds_then_removes_and_moves_last_change_only() -> None:
    state = _model(tags=["a", "b"])
    assert rules.update_tags(state, CTX, ["a"], ["zz"]) == []
    later = Context(now=datetime(2026, 2, 1, tzinfo=UTC), user="u2", company="co")
    events = rules.update_tags(state, later, ["c", "b"], ["a", "c"])
    assert events == [ev.ModelTagsUpdated(at=later.now, by="u2", tags=["b"])]
    after = fold(events, state)
    assert after is not None
    assert (after.tags, after.last_change, after.last_changed_by) == (["b"], later.now, "u2")
    assert after.last_update == state.last_update
