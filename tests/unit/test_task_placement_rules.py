"""The pure rules of tasks.move, make_public/make_private, and the children check of a delete."""

from __future__ import annotations

import pytest
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import lifecycle, placement
from tasktrack.domain.errors import DomainError
from tasktrack.domain.evolve import fold
from tests.unit.domain_builders import ctx, new_task, refused


def test_a_move_is_an_event_only_when_the_project_changes() -> None:
    state = new_task(project="p1")
    assert placement.move(state, "p1", ctx()) == []
    events = placement.move(state, None, ctx())
    assert [type(e) for e in events] == [ev.TaskMoved]
    after = fold(events, state)
    assert after is not None
    assert (after.project, after.last_change, after.last_update) == (
        None,
        ctx().now,
        state.last_update,
    )


def test_a_public_task_refuses_every_change_until_made_private() -> None:
    state = new_task()
    public = fold(placement.visibility(state, True, ctx()), state)
    assert public is not None
    assert public.public
    refused(public, cmd.MarkStarted(task=public.id), 403, 21)
    refused(public, cmd.UpdateTask(task=public.id, comment="x"), 403, 21)
    refused(public, cmd.DeleteTask(task=public.id, force=True), 403, 21)
    with pytest.raises(DomainError) as info:
        placement.move(public, "p2", ctx())
    assert info.value.codes == (403, 21)
    private = fold(placement.visibility(public, False, ctx()), public)
    assert private is not None
    assert not private.public
    assert [type(e) for e in placement.move(private, "p2", ctx())] == [ev.TaskMoved]


def test_make_private_of_a_task_that_is_not_public_is_400_101() -> None:
    with pytest.raises(DomainError) as info:
        placement.visibility(new_task(), False, ctx())
    assert info.value.codes == (400, 101)
    public = structs.replace(new_task(), public=True)
    assert placement.visibility(public, True, ctx()) == []  # already public: nothing to record


def test_published_children_refuse_a_delete_or_reset_without_force() -> None:
    parent = new_task()
    with pytest.raises(DomainError) as info:
        lifecycle.check_children(parent, 1, force=False)
    assert info.value.codes == (400, 123)
    lifecycle.check_children(parent, 1, force=True)
    lifecycle.check_children(parent, 0, force=False)
