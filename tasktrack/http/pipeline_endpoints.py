"""The pipelines service's endpoints: start_pipeline and delete_runs (compositions of task
commands, in api_pipelines.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.api_pipelines import PipelineArg
from tasktrack.domain.limits import Key
from tasktrack.http.calls import Call, Spec


class StartPipeline(msgspec.Struct, frozen=True, kw_only=True):
    task: Key
    queue: Key | None = None  # None: the default queue
    args: list[PipelineArg] | None = None
    verify_watched_queue: bool = False


class DeleteRuns(msgspec.Struct, frozen=True, kw_only=True):
    project: Key
    ids: list[Key]


def _start(call: Call, body: StartPipeline) -> Any:
    return call.client.start_pipeline(
        body.task, body.queue, body.args, verify_watched_queue=body.verify_watched_queue
    )


def _delete_runs(call: Call, body: DeleteRuns) -> Any:
    return call.client.delete_runs(body.project, body.ids)


ENDPOINTS = [
    Spec(
        name="pipelines.start_pipeline",
        request=StartPipeline,
        run=_start,
        summary="Run a pipeline: clone its controller (Args from `args`) and enqueue the clone",
    ),
    Spec(
        name="pipelines.delete_runs",
        request=DeleteRuns,
        run=_delete_runs,
        summary="Delete runs (controllers) of a pipeline project with their steps; one must stay",
    ),
]
