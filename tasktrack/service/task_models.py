"""What a command on a task does to the models it links, in the task's transaction.

Publishing a task publishes its last output model (tasks.publish with `publish_model`, the
default, and tasks.completed with `publish`), as ClearML's. Resetting or deleting a task cleans
up its output models (domain/model_links.py). Both write to model streams, so the handler
locks them with `streams` right after locking and loading the tasks, before its first write
(store/eventlog.py refuses a lock after one): the tasks are locked by then, so the models they
link cannot change under the command (every command that links a model to a task locks the
task too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import model_links
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.model_errors import ModelsNotFound
from tasktrack.domain.model_rules import DELETED_PREFIX
from tasktrack.domain.models import ModelState, stream_of
from tasktrack.domain.state import TaskState
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import modelrefs, modelrows


def _publishes_model(c: cmd.Command) -> bool:
    return (isinstance(c, cmd.PublishTask) and c.publish_model) or (
        isinstance(c, cmd.MarkCompleted) and c.publish
    )


def _cleans_up(c: cmd.Command) -> bool:
    return isinstance(c, cmd.ResetTask | cmd.DeleteTask)


def _model_ids(uow: UnitOfWork, c: cmd.Command, task: TaskState) -> list[str]:
    if _publishes_model(c):
        last = model_links.last_output_model(task)
        return [last] if last else []
    if _cleans_up(c):
        linked = modelrefs.ids_of_task(uow.conn, uow.metadata.company, task.id)
        return model_links.output_model_ids(task, linked)
    return []


def streams(uow: UnitOfWork, commands: Iterable[cmd.OnTask]) -> list[str]:
    """The model streams these commands on locked, loaded tasks may write."""
    out: list[str] = []
    for c in commands:
        task = uow.states.get(c.task) if isinstance(c.task, str) else None
        if task is not None and task.visible_to(uow.metadata.company):
            out += [stream_of(m) for m in _model_ids(uow, c, task)]
    return out


def check_clone(uow: UnitOfWork, c: cmd.CloneTask, events: list[ev.AnyEvent]) -> None:
    """Refuse a clone whose models (and, with validate_references, parent) are not there."""
    created = next(e for e in events if isinstance(e, ev.TaskCreated))
    wanted = model_links.clone_references(created, c)
    company = uow.metadata.company
    found = modelrefs.readable_ids(uow.conn, company, wanted) if wanted else set()
    missing = sorted(set(wanted) - found)
    if missing:
        raise ModelsNotFound(missing)
    parent = created.parent
    if c.validate_references and parent and not parent.startswith(DELETED_PREFIX):
        uow.load([parent])
        state = uow.states.get(parent)
        if state is None or not state.visible_to(company):
            raise TaskNotFound(parent)


def _locked(uow: UnitOfWork, ids: list[str]) -> dict[str, ModelState]:
    """The company's own models among `ids` whose streams this command locked (read after the
    lock, so fresh), their heads remembered for the append."""
    mine = [m for m in ids if stream_of(m) in uow.locked]
    found: dict[str, ModelState] = {}
    for model_id, row in modelrows.load(uow.conn, uow.metadata.company, mine).items():
        if row.state.owned_by(uow.metadata.company):
            stream = stream_of(model_id)
            uow.heads[stream] = row.head
            uow.head_times[stream] = row.head_at
            found[model_id] = row.state
    return found


def _at(uow: UnitOfWork, ctx: Context, ids: Iterable[str]) -> Context:
    """The task's context, never before the last event of these model streams."""
    return structs.replace(ctx, now=uow.now([*(stream_of(i) for i in ids)]) if ids else ctx.now)


def follow(
    uow: UnitOfWork, c: cmd.OnTask, task: TaskState, events: list[ev.AnyEvent], ctx: Context
) -> dict[str, Any]:
    """Append what the task's `events` mean for its models; ClearML's counts for the answer.

    `task` is the state the events were decided on. May raise (a published output model on a
    reset or delete without force): the caller's transaction or savepoint then writes nothing.
    """
    if _publishes_model(c) and any(isinstance(e, ev.TaskPublished) for e in events):
        models = _locked(uow, _model_ids(uow, c, task))
        for model_id, model in models.items():
            if not model.ready:
                at = _at(uow, ctx, [model_id])
                uow.append(stream_of(model_id), [ev.ModelPublished(at=at.now, by=at.user)], at.now)
        return {}
    if not (_cleans_up(c) and any(isinstance(e, ev.TaskReset | ev.TaskDeleted) for e in events)):
        return {}
    assert isinstance(c, cmd.ResetTask | cmd.DeleteTask)
    models = _locked(uow, _model_ids(uow, c, task))
    drafts = [i for i, m in models.items() if not m.ready]
    in_use = set(modelrefs.input_users(uow.conn, uow.metadata.company, drafts))
    at = _at(uow, ctx, models)
    done = model_links.cleanup(
        task,
        models.values(),
        in_use,
        at,
        deleting=isinstance(c, cmd.DeleteTask),
        force=c.force,
        delete_drafts=c.delete_output_models,
    )
    for model_id, model_events in done.events.items():
        uow.append(stream_of(model_id), model_events, at.now)
    answer: dict[str, Any] = {
        "deleted_models": done.deleted_models,
        "updated_models": done.updated_models,
    }
    if c.return_file_urls:
        answer["urls"] = model_links.file_urls(task, done)
    return answer
