"""A model's state and how each of its events changes it (the pure fold of a model stream).

A model is an aggregate of its own: its stream id is `model:<id>` (the kind in the name, so an
auditor reading the log knows what a stream is without decoding it), its first event is
ModelCreated, and its row in `models` is the fold of the stream, which doubles as the stream's
head for the next append (as a task's row does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, structs

from tasktrack.domain import events as ev

ARCHIVED = "archived"
STREAM_PREFIX = "model:"


def stream_of(model_id: str) -> str:
    return f"{STREAM_PREFIX}{model_id}"


def model_of(stream_id: str) -> str:
    return stream_id.removeprefix(STREAM_PREFIX)


class ModelState(msgspec.Struct, frozen=True, kw_only=True):
    """Every field of ClearML's model object that tasktrack keeps."""

    id: str
    company: str
    user: str
    name: str
    created: datetime
    last_update: datetime
    last_change: datetime
    last_changed_by: str
    uri: str | None = None
    task: str | None = None
    parent: str | None = None
    project: str | None = None
    comment: str = ""
    tags: list[str] = []
    system_tags: list[str] = []
    framework: str | None = None
    design: dict[str, Any] | None = None
    labels: dict[str, int] = {}
    ready: bool = False
    ui_cache: dict[str, Any] | None = None
    metadata: list[ev.MetadataItem] = []
    last_iteration: int | None = None
    public: bool = False
    deleted: bool = False

    def visible_to(self, company: str) -> bool:
        """Readable: the company's own models, and public ones."""
        return not self.deleted and (self.company == company or self.public)

    def owned_by(self, company: str) -> bool:
        """Changeable: only the company's own, private models (ClearML: 400/201 otherwise)."""
        return not self.deleted and self.company == company and not self.public


def _touched(state: ModelState, e: ev.Event, *, update: bool = True) -> ModelState:
    """Every change writes last_change and who made it; content changes also last_update."""
    fields: dict[str, Any] = {"last_change": e.at, "last_changed_by": e.by}
    if update:
        fields["last_update"] = e.at
    return structs.replace(state, **fields)


def _created(e: ev.ModelCreated) -> ModelState:
    return ModelState(
        id=e.model_id,
        company=e.company,
        user=e.by,
        name=e.name,
        created=e.at,
        last_update=e.at,
        last_change=e.at,
        last_changed_by=e.by,
        uri=e.uri,
        task=e.task,
        parent=e.parent,
        project=e.project,
        comment=e.comment,
        tags=e.tags,
        system_tags=e.system_tags,
        framework=e.framework,
        design=e.design,
        labels=e.labels,
        ready=e.ready,
        ui_cache=e.ui_cache,
        metadata=e.metadata,
    )


def _edited(s: ModelState, e: ev.ModelEdited) -> ModelState:
    changed = {
        f: getattr(e.changes, f)
        for f in e.changes.__struct_fields__
        if getattr(e.changes, f) is not UNSET
    }
    return _touched(structs.replace(s, **changed), e)


def _weights(s: ModelState, e: ev.ModelWeightsUpdated) -> ModelState:
    iteration = s.last_iteration if e.iteration is None else e.iteration
    new = structs.replace(s, uri=e.uri, ui_cache=e.ui_cache, last_iteration=iteration)
    return _touched(new, e)


def _tags_without(tags: Iterable[str], tag: str) -> list[str]:
    return [t for t in tags if t != tag]


def _metadata(s: ModelState, e: ev.ModelMetadataChanged) -> ModelState:
    kept = [] if e.replace else s.metadata
    gone = set(e.deleted) | {m.key for m in e.upserted}
    items = [m for m in kept if m.key not in gone] + list(e.upserted)
    return _touched(structs.replace(s, metadata=items), e, update=False)


def _reached(s: ModelState, e: ev.Event, iteration: int | None) -> ModelState:
    """Events reported against the model raise its last_iteration (ClearML's max) and touch it."""
    if iteration is not None and (s.last_iteration is None or iteration > s.last_iteration):
        s = structs.replace(s, last_iteration=iteration)
    return _touched(s, e)


def _scalars(s: ModelState, e: ev.ModelMetricsReported) -> ModelState:
    iters = [i for i in e.iters if i is not None]
    return _reached(s, e, max(iters) if iters else None)


FOLDS: dict[type[ev.Event], Callable[[ModelState, Any], ModelState]] = {
    ev.ModelEdited: _edited,
    ev.ModelWeightsUpdated: _weights,
    ev.ModelPublished: lambda s, e: _touched(structs.replace(s, ready=True), e),
    ev.ModelUnpublished: lambda s, e: _touched(structs.replace(s, ready=False), e),
    ev.ModelArchived: lambda s, e: _touched(
        structs.replace(s, system_tags=[*_tags_without(s.system_tags, ARCHIVED), ARCHIVED]),
        e,
        update=False,
    ),
    ev.ModelUnarchived: lambda s, e: _touched(
        structs.replace(s, system_tags=_tags_without(s.system_tags, ARCHIVED)), e, update=False
    ),
    ev.ModelMoved: lambda s, e: _touched(structs.replace(s, project=e.project), e, update=False),
    ev.ModelMetadataChanged: _metadata,
    ev.ModelVisibilityChanged: lambda s, e: _touched(
        structs.replace(s, public=e.public), e, update=False
    ),
    ev.ModelDeleted: lambda s, e: structs.replace(s, deleted=True),
    # As ClearML's update_tags: last_change moves, last_update does not.
    ev.ModelTagsUpdated: lambda s, e: _touched(structs.replace(s, tags=e.tags), e, update=False),
    ev.ModelMetricsReported: _scalars,
    ev.ModelEventsReceived: lambda s, e: _reached(s, e, e.last_iteration),
    ev.ModelEventsStored: lambda s, e: s,
}


def evolve(state: ModelState | None, event: ev.AnyEvent) -> ModelState:
    """The state after `event`: a pure fold (no clock, no I/O)."""
    if isinstance(event, ev.ModelCreated):
        if state is not None:
            raise ValueError(f"model {event.model_id} created twice")
        return _created(event)
    if state is None:
        raise ValueError(f"{type(event).__name__} before ModelCreated")
    return FOLDS[type(event)](state, event)


def fold(events: Iterable[ev.AnyEvent], state: ModelState | None = None) -> ModelState | None:
    for event in events:
        state = evolve(state, event)
    return state
