"""The pipelines service's Client methods (a mixin of tasktrack.api.Client), and the
`include_pipeline_steps` of stop, archive, unarchive and delete.

Each is a composition of task commands, each its own transaction and its own events (the
clone, then the enqueue; the controller, then its steps), as ClearML runs them one after the
other. What can be refused is checked first (the queue of a start; the controller's own
command runs before its steps), so a refused call writes nothing; a failure part-way (a queue
deleted meanwhile, a step another caller changed) leaves the earlier commands done, visible
and attributed in the log, never a half-written command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import msgspec
from sqlalchemy import Connection

from tasktrack.domain import commands as cmd
from tasktrack.domain.errors import DomainError, QueueNotFound, TaskNotFound
from tasktrack.domain.values import HyperParams
from tasktrack.queries import tasks as task_queries
from tasktrack.queries import workers as worker_queries
from tasktrack.queries.filter_request import MAX_PAGE_SIZE, GetAllRequest
from tasktrack.queries.projects import ProjectFilter
from tasktrack.queries.projects import get_all as get_projects
from tasktrack.queries.queues import QueueFilter, QueueView
from tasktrack.service import Caller
from tasktrack.service.results import Result

PIPELINE_TAG = "pipeline"


class CannotRemoveAllRuns(DomainError):
    """pipelines.delete_runs would leave the pipeline without a run (ClearML's 400/160)."""

    subcode = 160


class PipelineArg(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    value: Any = None


def _steps_command(command: cmd.Command, steps: list[str]) -> cmd.Command | None:
    """The same change for the steps: forced for stop and delete, as ClearML does."""
    message = getattr(command, "status_message", "")
    reason = getattr(command, "status_reason", "")
    if isinstance(command, cmd.StopTask | cmd.StopTasks):
        return cmd.StopTasks(ids=steps, force=True, status_reason=reason, status_message=message)
    if isinstance(command, cmd.DeleteTask | cmd.DeleteTasks):
        return cmd.DeleteTasks(ids=steps, force=True, status_reason=reason, status_message=message)
    if isinstance(command, cmd.ArchiveTask | cmd.ArchiveTasks):
        return cmd.ArchiveTasks(ids=steps, status_reason=reason, status_message=message)
    if isinstance(command, cmd.UnarchiveTask | cmd.UnarchiveTasks):
        return cmd.UnarchiveTasks(ids=steps, status_reason=reason, status_message=message)
    return None


class PipelineMethods:
    """Mixed into Client, which provides `execute`, `_read` and `caller`."""

    caller: Caller

    def execute(self, command: cmd.Command, request_id: str | None = None) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _tasks(self, request: GetAllRequest) -> list[Any]:
        found: list[Any] = []
        with self._read() as conn:
            while True:
                page = task_queries.get_all(conn, self.caller.company, request)
                found += page
                if len(page) < request.page_size:
                    return found
                request = msgspec.structs.replace(request, page=request.page + 1)

    def pipeline_steps(self, ids: list[str]) -> list[str]:
        """The steps (child tasks) of the pipeline controllers among these tasks."""
        listed: list[str | None] = list(ids)
        controllers = [
            t.id
            for t in self._tasks(GetAllRequest(id=listed, search_hidden=True))
            if t.type == "controller"
        ]
        if not controllers:
            return []
        parents: list[str | None] = list(controllers)
        children = self._tasks(
            GetAllRequest(parent=parents, search_hidden=True, page_size=MAX_PAGE_SIZE)
        )
        return [t.id for t in children]

    def steps_of(self, command: cmd.Command) -> cmd.Command | None:
        """`include_pipeline_steps`: the same change for the steps of the controllers the
        command names, to run after it (read before it: a deleted controller's children
        lose their parent). Run after, so that a refused command changes nothing."""
        if not getattr(command, "include_pipeline_steps", False):
            return None
        if isinstance(command, cmd.ManyTasks):
            ids = list(command.ids)
        elif isinstance(command, cmd.TaskCommand):
            ids = [command.task]
        else:
            return None
        steps = self.pipeline_steps(ids)
        return _steps_command(command, steps) if steps else None

    def start_pipeline(
        self,
        task: str,
        queue: str | None = None,
        args: list[PipelineArg] | None = None,
        verify_watched_queue: bool = False,
    ) -> Result:
        """pipelines.start_pipeline: a clone of the controller named `<project> #<n>`, its
        `Args` section set from `args`, enqueued: {pipeline, enqueued, queue_watched?}."""
        (source,) = self._tasks(GetAllRequest(id=[task], search_hidden=True)) or [None]
        if source is None:
            raise TaskNotFound(task)
        hyperparams = dict(source.hyperparams or {})
        if args:
            hyperparams["Args"] = {
                a.name: {"section": "Args", "name": a.name, "value": _text(a.value)} for a in args
            }
        clone = cmd.CloneTask(
            task=task,
            new_task_name=self._run_name(source.project) or msgspec.UNSET,
            new_task_hyperparams=msgspec.convert(msgspec.to_builtins(hyperparams), HyperParams),
        )
        # The queue is checked before the clone is made: a refused start writes nothing (a
        # queue deleted in between leaves the clone a draft, as ClearML's would).
        target = queue or msgspec.UNSET  # none or "": the default queue, as ClearML
        if isinstance(target, str) and not self.query_queues(QueueFilter(id=[target])):
            raise QueueNotFound(f"Invalid queue id: id={target}", id=target)
        pipeline = self.execute(clone)["id"]
        enqueue = cmd.EnqueueTask(task=pipeline, queue=target, status_message="Starting pipeline")
        enqueued = self.execute(enqueue)
        answer: Result = {"pipeline": pipeline, "enqueued": bool(enqueued.get("queued"))}
        if verify_watched_queue:
            into = str(enqueued.get("fields", {}).get("execution", {}).get("queue") or queue or "")
            answer["queue_watched"] = bool(into and self.queue_workers([into]).get(into))
        return answer

    def query_queues(self, query: QueueFilter) -> list[QueueView]:
        raise NotImplementedError

    def queue_workers(
        self, queue_ids: Sequence[str]
    ) -> dict[str, list[worker_queries.QueueWorker]]:
        raise NotImplementedError

    def _run_name(self, project: str | None) -> str | None:
        """ClearML's run name: the project's basename, `#<n>` after the n runs named so."""
        if not project:
            return None
        with self._read() as conn:
            found = get_projects(conn, self.caller.company, ProjectFilter(id=[project]))
        if not found:
            return None
        prefix = found[0].name.rpartition("/")[2]
        mask = re.compile(rf"{re.escape(prefix)}( #\d+)?")
        runs = self._tasks(GetAllRequest(project=[project], system_tags=[PIPELINE_TAG]))
        count = sum(1 for t in runs if mask.fullmatch(t.name))
        return f"{prefix} #{count}" if count else prefix

    def delete_runs(self, project: str, ids: list[str]) -> Result:
        """pipelines.delete_runs: delete these runs (controllers of the project) with their
        steps; at least one run must stay (400/160)."""
        controllers: list[str | None] = ["controller"]
        runs = {
            t.id
            for t in self._tasks(
                GetAllRequest(project=[project], type=controllers, search_hidden=True)
            )
        }
        if not runs - set(ids):
            raise CannotRemoveAllRuns(
                f"at least one pipeline run should be left: project={project}", project=project
            )
        doomed = sorted(runs & set(ids))
        if not doomed:
            return {"succeeded": [], "failed": []}
        return self.execute(
            cmd.DeleteTasks(
                ids=doomed,
                force=True,
                include_pipeline_steps=True,
                status_reason="Pipeline run deleted",
            )
        )


def _text(value: Any) -> str:
    return str(value)  # as ClearML: str() of whatever was sent
