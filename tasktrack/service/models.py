"""The models service's handlers: lock, load, decide (domain/model_rules.py), append, project.

A command that touches a model and its task (update_for_task, set_ready, delete) appends to
both streams in one transaction. It takes both locks in ONE call where it can (eventlog sorts
them, so two such commands never wait on each other in opposite orders); update_for_task must
read the task before it knows which model to lock, and a deadlock that leaves is detected by
PostgreSQL and retried by the service (service/core.py, RETRYABLE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain import model_links, placement
from tasktrack.domain import model_rules as rules
from tasktrack.domain.context import Context
from tasktrack.domain.decide import decide
from tasktrack.domain.errors import DomainError, InvalidRequest, InvalidTaskStatus, TaskNotFound
from tasktrack.domain.model_errors import MissingRequiredFields, ModelNotFound
from tasktrack.domain.models import ModelState, stream_of
from tasktrack.domain.state import TaskState
from tasktrack.service import projects
from tasktrack.service.handlers import new_id
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import modelrefs, modelrows

OUTPUT_MODEL_NAME = "Output Model"  # ClearML's name of a task's output model entry


def _ctx(uow: UnitOfWork, streams: list[str]) -> Context:
    m = uow.metadata
    return Context(now=uow.now(streams), user=m.user, company=m.company)


def _peek_task(uow: UnitOfWork, model_id: str) -> str | None:
    """The model's task as committed now, read before locking (to lock both at once)."""
    row = modelrows.load(uow.conn, uow.metadata.company, [model_id]).get(model_id)
    return row.state.task if row is not None else None


def _load(uow: UnitOfWork, model_id: str, *, owned: bool = True) -> ModelState:
    """A locked model's state; its row is the stream's head for the next append."""
    row = modelrows.load(uow.conn, uow.metadata.company, [model_id]).get(model_id)
    company = uow.metadata.company
    if row is None or not (row.state.owned_by(company) if owned else not row.state.deleted):
        raise ModelNotFound(model_id)
    stream = stream_of(model_id)
    uow.heads[stream] = row.head
    uow.head_times[stream] = row.head_at
    return row.state


def _task(uow: UnitOfWork, task_id: str | None) -> TaskState | None:
    """A locked task's state, None when it is gone (or another company's), or public: a public
    task is read-only, so a model's changes leave it alone (as ClearML's, in no company)."""
    if not task_id:
        return None
    uow.load([task_id])
    state = uow.states.get(task_id)
    if state is None or not state.visible_to(uow.metadata.company) or state.public:
        return None
    return state


def _require_task(uow: UnitOfWork, task_id: str) -> TaskState:
    state = _task(uow, task_id)
    if state is None:
        found = uow.states.get(task_id)
        if found is not None and found.visible_to(uow.metadata.company):
            placement.writable(found)  # public: 403/21
        raise TaskNotFound(task_id)
    return state


def _lock(uow: UnitOfWork, model_id: str, *task_ids: str | None) -> None:
    uow.lock([stream_of(model_id), *(t for t in task_ids if t)])


def _iteration(uow: UnitOfWork, task_id: str | None, iteration: int | None, at: Context) -> None:
    """Raise the task's last_iteration to the model's iteration (never lowers it)."""
    task = _task(uow, task_id)
    if task is None or iteration is None or iteration <= task.last_iteration:
        return
    event = ev.TaskIterationReached(at=at.now, by=at.user, iteration=iteration)
    uow.append(task.id, [event], at.now)


def on_create(uow: UnitOfWork, c: mc.CreateModel) -> Result:
    model_id = new_id()
    task_id = c.task or None
    _lock(uow, model_id, task_id)
    if task_id:
        _require_task(uow, task_id)
    ctx = _ctx(uow, [])
    events = rules.create(c, ctx, model_id)
    if c.public:
        events.append(ev.ModelVisibilityChanged(at=ctx.now, by=ctx.user, public=True))
    uow.append(stream_of(model_id), events, ctx.now)
    uow.project()
    return {"id": model_id, "created": True}


def on_update(uow: UnitOfWork, c: mc.UpdateModel) -> Result:
    """models.update and models.edit."""
    peeked = _peek_task(uow, c.model)
    named = c.task if isinstance(c.task, str) else None
    _lock(uow, c.model, peeked, named)
    state = _load(uow, c.model)
    if named:
        _require_task(uow, named)
    stream = stream_of(c.model)
    ctx = _ctx(uow, [stream])
    events = rules.change(state, c, ctx)
    uow.append(stream, events, ctx.now)
    task_id = named or (state.task if isinstance(c, mc.EditModel) else None)
    if task_id in (peeked, named):  # only a task this command holds the lock of
        _iteration(uow, task_id, c.iteration, ctx)
    uow.project()
    return {"updated": 1 if events else 0, "fields": _fields(events)}


def _fields(events: list[ev.AnyEvent]) -> dict[str, object]:
    out: dict[str, object] = {}
    for e in events:
        if isinstance(e, ev.ModelEdited):
            out.update({f: getattr(e.changes, f) for f in e.changes.__struct_fields__})
        elif isinstance(e, ev.ModelWeightsUpdated):
            out["uri"] = e.uri
        elif isinstance(e, ev.ModelMoved):
            out["project"] = e.project
        elif isinstance(e, ev.ModelPublished | ev.ModelUnpublished):
            out["ready"] = isinstance(e, ev.ModelPublished)
    return {k: v for k, v in out.items() if v is not UNSET}


def on_update_for_task(uow: UnitOfWork, c: mc.UpdateModelForTask) -> Result:
    if bool(c.uri) == bool(c.override_model_id):
        raise MissingRequiredFields(
            "exactly one field is required: uri or override_model_id",
            fields=["uri", "override_model_id"],
        )
    uow.lock([c.task])
    task = _require_task(uow, c.task)
    if task.status not in ("created", "in_progress"):
        raise InvalidTaskStatus(
            "model can only be updated for tasks in the created or in_progress states",
            id=c.task,
        )
    outputs = task.models.output if task.models is not None else UNSET
    existing = outputs[-1].model if outputs and not c.override_model_id else None
    model_id = c.override_model_id or existing or new_id()
    stream = stream_of(model_id)
    uow.lock([stream])
    ctx = _ctx(uow, [stream, c.task])
    result: Result
    if c.override_model_id:
        _load(uow, model_id)
        result = {"id": model_id, "created": False}
    elif existing:
        events = rules.update_weights(_load(uow, model_id), c, ctx)
        uow.append(stream, events, ctx.now)
        _iteration(uow, c.task, c.iteration, ctx)
        uow.project()
        return {"id": model_id, "created": False, "updated": 1 if events else 0}
    else:
        uow.append(stream, rules.create_for_task(c, ctx, model_id, task), ctx.now)
        result = {"id": model_id, "created": True}
    link = ev.ModelUpserted(
        at=ctx.now,
        by=ctx.user,
        name=OUTPUT_MODEL_NAME,
        model=model_id,
        model_type="output",
        iteration=c.iteration,
        in_place=True,
    )
    uow.append(c.task, [link], ctx.now)
    uow.project()
    return result


def _publish(uow: UnitOfWork, model_id: str, publish_task: bool, force: bool) -> Result:
    """Publish a model, and its task unless it is published already (or publish_task=False)."""
    peeked = _peek_task(uow, model_id)
    _lock(uow, model_id, peeked if publish_task else None)
    state = _load(uow, model_id)
    stream = stream_of(model_id)
    ctx = _ctx(uow, [stream, *([peeked] if peeked else [])])
    events = rules.publish(state, ctx)
    result: Result = {"updated": 1}
    task = _task(uow, state.task) if publish_task and state.task == peeked else None
    if task is not None and task.status != "published":
        publish = cmd.PublishTask(task=task.id, force=force, publish_model=False)
        task_events = decide(task, publish, ctx)
        uow.append(task.id, task_events, ctx.now)
        result["published_task"] = {
            "id": task.id,
            "data": {"updated": 1, "fields": {"status": "published"}},
        }
    uow.append(stream, events, ctx.now)
    uow.project()
    return result


def on_set_ready(uow: UnitOfWork, c: mc.SetModelReady) -> Result:
    return _publish(uow, c.model, c.publish_task, c.force_publish_task)


def _lock_all(uow: UnitOfWork, ids: list[str]) -> None:
    """Every stream a command on many models may write, locked in one call before its first
    write (the log refuses a lock after one): the models and the tasks they name now."""
    tasks = [
        row.state.task
        for row in modelrows.load(uow.conn, uow.metadata.company, ids).values()
        if row.state.task
    ]
    uow.lock([*(stream_of(i) for i in ids), *tasks])


def _each(uow: UnitOfWork, ids: list[str], run: object) -> Result:
    """Each id in a savepoint of its own: one failure does not stop (or undo) the rest."""
    assert callable(run)
    _lock_all(uow, ids)
    succeeded: list[Result] = []
    failed: list[Result] = []
    for model_id in dict.fromkeys(ids):
        try:
            with uow.savepoint():
                outcome = run(model_id)
        except DomainError as exc:
            failed.append(
                {
                    "id": model_id,
                    "error": {"codes": list(exc.codes), "msg": exc.message, "data": exc.data},
                }
            )
            continue
        succeeded.append({"id": model_id, **outcome})
    return {"succeeded": succeeded, "failed": failed}


def on_publish_many(uow: UnitOfWork, c: mc.PublishModels) -> Result:
    return _each(uow, c.ids, lambda i: _publish(uow, i, c.publish_task, c.force_publish_task))


def _simple(uow: UnitOfWork, model_id: str, decide_: object, key: str, **kw: object) -> Result:
    """A command on the model stream alone."""
    assert callable(decide_)
    _lock(uow, model_id)
    state = _load(uow, model_id, owned=kw.pop("owned", True) is True)
    stream = stream_of(model_id)
    ctx = _ctx(uow, [stream])
    events = decide_(state, ctx, **kw)
    uow.append(stream, events, ctx.now)
    uow.project()
    return {key: bool(events)}


def on_archive_many(uow: UnitOfWork, c: mc.ArchiveModels) -> Result:
    return _each(uow, c.ids, lambda i: _simple(uow, i, rules.archive, "archived"))


def on_unarchive_many(uow: UnitOfWork, c: mc.UnarchiveModels) -> Result:
    return _each(uow, c.ids, lambda i: _simple(uow, i, rules.unarchive, "unarchived"))


def _users(uow: UnitOfWork, model_ids: list[str]) -> list[str]:
    """The tasks that take these models as input (read before locking, to lock them too)."""
    found = modelrefs.input_users(uow.conn, uow.metadata.company, model_ids)
    return sorted({t for tasks in found.values() for t in tasks})


def _delete(uow: UnitOfWork, model_id: str, force: bool, *, locked_ahead: bool = False) -> Result:
    """`locked_ahead`: delete_many locked every stream it may write before its first write."""
    peeked = _peek_task(uow, model_id)
    users = _users(uow, [model_id])
    if not locked_ahead:
        _lock(uow, model_id, peeked, *users)
    state = _load(uow, model_id)
    task = _task(uow, state.task) if state.task == peeked else None
    # Tasks that became users after the locks were taken are left as ClearML leaves them.
    using = [t for u in users if u in uow.locked and (t := _task(uow, u)) is not None]
    stream = stream_of(model_id)
    ctx = _ctx(uow, [stream, *([task.id] if task else []), *(t.id for t in using)])
    user_events = model_links.input_model_deleted(model_id, using, ctx, force=force)
    model_events, task_events = rules.delete(state, ctx, task, force)
    for user, events in user_events.items():
        uow.append(user, events, ctx.now)
    if task is not None:
        uow.append(task.id, task_events, ctx.now)
    uow.append(stream, model_events, ctx.now)
    uow.project()
    return {"deleted": True, "url": state.uri}


def on_delete(uow: UnitOfWork, c: mc.DeleteModel) -> Result:
    return _delete(uow, c.model, c.force)


def on_delete_many(uow: UnitOfWork, c: mc.DeleteModels) -> Result:
    uow.lock(_users(uow, c.ids))
    return _each(uow, c.ids, lambda i: _delete(uow, i, c.force, locked_ahead=True))


def on_move(uow: UnitOfWork, c: mc.MoveModels) -> Result:
    """Into the project `project` (it must exist), or the one named `project_name`, created
    with its missing parents when absent (as ClearML), or none."""
    project, writes = projects.destination(uow, c.project or None, c.project_name or None)
    uow.lock(projects.new_streams(writes))
    _lock_all(uow, c.ids)
    projects.append(uow, writes)
    for model_id in dict.fromkeys(c.ids):
        _simple(uow, model_id, rules.move, "moved", project=project)
    return {"project_id": project}


def _visibility(uow: UnitOfWork, ids: list[str], public: bool) -> Result:
    _lock_all(uow, ids)
    updated = 0
    for model_id in dict.fromkeys(ids):
        _lock(uow, model_id)
        state = _load(uow, model_id, owned=False)
        # Only the company's own models change hands (ClearML: 400/201 for any other).
        if state.company != uow.metadata.company or (not public and not state.public):
            raise ModelNotFound(model_id)
        stream = stream_of(model_id)
        ctx = _ctx(uow, [stream])
        events = rules.visibility(state, ctx, public)
        uow.append(stream, events, ctx.now)
        updated += 1 if events else 0
    uow.project()
    return {"updated": updated}


def on_make_public(uow: UnitOfWork, c: mc.MakeModelsPublic) -> Result:
    return _visibility(uow, c.ids, True)


def on_make_private(uow: UnitOfWork, c: mc.MakeModelsPrivate) -> Result:
    return _visibility(uow, c.ids, False)


def on_add_or_update_metadata(uow: UnitOfWork, c: mc.AddOrUpdateModelMetadata) -> Result:
    done = _simple(uow, c.model, lambda s, ctx: rules.upsert_metadata(s, c, ctx), "updated")
    return {"updated": int(done["updated"])}


def on_delete_metadata(uow: UnitOfWork, c: mc.DeleteModelMetadata) -> Result:
    done = _simple(uow, c.model, lambda s, ctx: rules.delete_metadata(s, c, ctx), "updated")
    return {"updated": int(done["updated"])}


def on_update_tags(uow: UnitOfWork, c: mc.UpdateModelTags) -> Result:
    """Tags added to and removed from the company's own models among `ids` (others are
    skipped, as ClearML's update of the matching models): how many changed."""
    if not (c.add_tags or c.remove_tags):
        raise InvalidRequest("Validation error: either add_tags or remove_tags is needed")
    ids = list(dict.fromkeys(c.ids))
    company = uow.metadata.company
    uow.lock([stream_of(i) for i in ids])
    rows = modelrows.load(uow.conn, company, ids)
    owned = [rows[i] for i in ids if i in rows and rows[i].state.owned_by(company)]
    for row in owned:
        uow.heads[stream_of(row.state.id)] = row.head
        uow.head_times[stream_of(row.state.id)] = row.head_at
    ctx = _ctx(uow, [stream_of(r.state.id) for r in owned])
    updated = 0
    for row in owned:
        events = rules.update_tags(row.state, ctx, c.add_tags, c.remove_tags)
        uow.append(stream_of(row.state.id), events, ctx.now)
        updated += 1 if events else 0
    uow.project()
    return {"updated": updated}


HANDLERS: dict[type[cmd.Command], Callable[[UnitOfWork, Any], Result]] = {
    mc.CreateModel: on_create,
    mc.UpdateModel: on_update,
    mc.EditModel: on_update,
    mc.UpdateModelForTask: on_update_for_task,
    mc.SetModelReady: on_set_ready,
    mc.PublishModels: on_publish_many,
    mc.ArchiveModels: on_archive_many,
    mc.UnarchiveModels: on_unarchive_many,
    mc.DeleteModel: on_delete,
    mc.DeleteModels: on_delete_many,
    mc.MoveModels: on_move,
    mc.MakeModelsPublic: on_make_public,
    mc.MakeModelsPrivate: on_make_private,
    mc.AddOrUpdateModelMetadata: on_add_or_update_metadata,
    mc.DeleteModelMetadata: on_delete_metadata,
    mc.UpdateModelTags: on_update_tags,
}
