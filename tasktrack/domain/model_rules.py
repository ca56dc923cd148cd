"""Decisions about models: pure functions of (state, command, context) to events.

A model is created ready unless the request says `ready: false` (ClearML's default). As in
ClearML, models.edit/update may change any field of a ready model, weights included: ClearML's
SDK creates its output models that way (ready by default) and then edits their `uri` as it
uploads. `ready: false` unpublishes a model, on the record (ModelUnpublished); publishing a
model that is ready already is refused (400/203).
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain.context import Context
from tasktrack.domain.editing import clean_tags
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.model_errors import ModelCreatingTaskExists, ModelIsReady
from tasktrack.domain.models import ARCHIVED, ModelState
from tasktrack.domain.state import TaskState

DELETED_PREFIX = "__DELETED__"
_DEFINITION = ("task", "parent", "framework", "design", "labels")


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidRequest("Validation error: name must not be empty", field="name")
    return name


def create(c: mc.CreateModel, ctx: Context, model_id: str) -> list[ev.AnyEvent]:
    return [
        ev.ModelCreated(
            at=ctx.now,
            by=ctx.user,
            model_id=model_id,
            company=ctx.company,
            name=_name(c.name),
            uri=c.uri,
            task=c.task or None,
            parent=c.parent,
            project=c.project or None,
            comment=c.comment or "",
            tags=clean_tags(c.tags or []),
            system_tags=clean_tags(c.system_tags or [], "system_tags"),
            framework=c.framework,
            design=c.design,
            labels=c.labels,
            ready=True if c.ready is UNSET else c.ready,
            ui_cache=c.ui_cache or None,
            metadata=_unique(c.metadata),
        )
    ]


def create_for_task(
    c: mc.UpdateModelForTask, ctx: Context, model_id: str, task: TaskState
) -> list[ev.AnyEvent]:
    """The first output model of a task: named after it, of its project and framework."""
    execution = task.execution
    framework = execution.framework if execution is not None else UNSET
    inputs = task.models.input if task.models is not None else UNSET
    return [
        ev.ModelCreated(
            at=ctx.now,
            by=ctx.user,
            model_id=model_id,
            company=ctx.company,
            name=_name(c.name if c.name is not UNSET else task.name),
            uri=c.uri,
            task=task.id,
            parent=inputs[0].model if inputs else None,
            project=task.project,
            comment=c.comment
            if c.comment is not UNSET
            else f"Created by task `{task.name}` ({task.id})",
            tags=clean_tags(c.tags or []),
            system_tags=clean_tags(c.system_tags or [], "system_tags"),
            framework=framework if isinstance(framework, str) else None,
            ready=task.status == "published",
        )
    ]


def _unique(
    items: list[ev.MetadataItem] | dict[str, ev.MetadataItem],
) -> list[ev.MetadataItem]:
    """The last entry of each key wins (ClearML keys metadata by key)."""
    listed = list(items.values()) if isinstance(items, dict) else items
    return list({m.key: m for m in listed}.values())


def change(state: ModelState, c: mc.UpdateModel, ctx: Context) -> list[ev.AnyEvent]:
    """models.update and models.edit: only what differs becomes an event."""
    at, by = ctx.now, ctx.user
    out: list[ev.AnyEvent] = []
    fields: dict[str, Any] = {}
    for f in ("name", "comment", "ui_cache"):
        value = getattr(c, f)
        if value is not UNSET and value != getattr(state, f):
            fields[f] = _name(value) if f == "name" else value
    for f in ("tags", "system_tags"):
        value = getattr(c, f)
        if value is not UNSET and clean_tags(value, f) != getattr(state, f):
            fields[f] = clean_tags(value, f)
    definition = {f: getattr(c, f, UNSET) for f in _DEFINITION}
    definition = {
        f: (v or None) if f in ("task", "parent") else v
        for f, v in definition.items()
        if v is not UNSET
    }
    definition = {f: v for f, v in definition.items() if v != getattr(state, f)}
    uri = getattr(c, "uri", UNSET)
    new_weights = uri is not UNSET and uri != state.uri
    if state.ready and c.ready is False:
        out.append(ev.ModelUnpublished(at=at, by=by))
    fields.update(definition)
    if fields:
        out.append(ev.ModelEdited(at=at, by=by, changes=ev.ModelChanges(**fields)))
    if new_weights:
        assert isinstance(uri, str)
        out.append(ev.ModelWeightsUpdated(at=at, by=by, uri=uri, iteration=c.iteration))
    if c.project is not UNSET and (c.project or None) != state.project:
        out.append(ev.ModelMoved(at=at, by=by, project=c.project or None))
    metadata = getattr(c, "metadata", UNSET)
    if metadata is not UNSET and _unique(metadata) != state.metadata:
        out.append(ev.ModelMetadataChanged(at=at, by=by, upserted=_unique(metadata), replace=True))
    if c.ready is True and not state.ready:
        out.append(ev.ModelPublished(at=at, by=by))
    return out


def update_weights(state: ModelState, c: mc.UpdateModelForTask, ctx: Context) -> list[ev.AnyEvent]:
    """update_for_task on a task that has an output model already: new weights (and names)."""
    edit = mc.EditModel(
        model=state.id,
        uri=c.uri if c.uri is not None else UNSET,
        name=c.name,
        comment=c.comment,
        tags=c.tags,
        system_tags=c.system_tags,
        iteration=c.iteration,
    )
    return change(state, edit, ctx)


def publish(state: ModelState, ctx: Context) -> list[ev.AnyEvent]:
    if state.ready:
        raise ModelIsReady(f"Model is already ready (published): id={state.id}", id=state.id)
    return [ev.ModelPublished(at=ctx.now, by=ctx.user)]


def archive(state: ModelState, ctx: Context) -> list[ev.AnyEvent]:
    if ARCHIVED in state.system_tags:
        return []
    return [ev.ModelArchived(at=ctx.now, by=ctx.user)]


def unarchive(state: ModelState, ctx: Context) -> list[ev.AnyEvent]:
    if ARCHIVED not in state.system_tags:
        return []
    return [ev.ModelUnarchived(at=ctx.now, by=ctx.user)]


def move(state: ModelState, ctx: Context, project: str | None) -> list[ev.AnyEvent]:
    if project == state.project:
        return []
    return [ev.ModelMoved(at=ctx.now, by=ctx.user, project=project)]


def update_tags(
    state: ModelState, ctx: Context, add: list[str], remove: list[str]
) -> list[ev.AnyEvent]:
    """Tags added, then removed (a tag in both ends up removed, as ClearML applies them)."""
    tags = clean_tags(sorted((set(state.tags) | set(add)) - set(remove)))
    if tags == state.tags:
        return []
    return [ev.ModelTagsUpdated(at=ctx.now, by=ctx.user, tags=tags)]


def visibility(state: ModelState, ctx: Context, public: bool) -> list[ev.AnyEvent]:
    if state.public == public:
        return []
    return [ev.ModelVisibilityChanged(at=ctx.now, by=ctx.user, public=public)]


def upsert_metadata(
    state: ModelState, c: mc.AddOrUpdateModelMetadata, ctx: Context
) -> list[ev.AnyEvent]:
    items = _unique(c.metadata)
    return [
        ev.ModelMetadataChanged(at=ctx.now, by=ctx.user, upserted=items, replace=c.replace_metadata)
    ]


def delete_metadata(
    state: ModelState, c: mc.DeleteModelMetadata, ctx: Context
) -> list[ev.AnyEvent]:
    present = {m.key for m in state.metadata}
    gone = [k for k in dict.fromkeys(c.keys) if k in present]
    if not gone:
        return []
    return [ev.ModelMetadataChanged(at=ctx.now, by=ctx.user, deleted=gone)]


def delete(
    state: ModelState, ctx: Context, task: TaskState | None, force: bool
) -> tuple[list[ev.AnyEvent], list[ev.AnyEvent]]:
    """The model's events and its task's: a published task keeps a `__DELETED__<id>` entry
    (its record must not change silently), any other task loses the output entries naming it.
    Deleting the model of a published task needs `force` (ClearML's 400/206)."""
    task_events: list[ev.AnyEvent] = []
    if task is not None and not task.deleted:
        published = task.status == "published"
        if published and not force:
            raise ModelCreatingTaskExists(
                f"Model's task is published, use force to delete: id={state.id}",
                id=state.id,
                task=task.id,
            )
        outputs = task.models.output if task.models is not None else UNSET
        named = [m.name for m in outputs or [] if m.model == state.id]
        if named and published:
            task_events = [
                ev.ModelUpserted(
                    at=ctx.now,
                    by=ctx.user,
                    name=n,
                    model=f"{DELETED_PREFIX}{state.id}",
                    model_type="output",
                    in_place=True,
                )
                for n in named
            ]
        elif named:
            task_events = [
                ev.ModelsDeleted(at=ctx.now, by=ctx.user, names=named, model_type="output")
            ]
    return [ev.ModelDeleted(at=ctx.now, by=ctx.user)], task_events
