"""The `data` each command answers with, shaped as ClearML's responses, from before and after."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.state import TaskState

Result = dict[str, Any]

_SKIP = {"version", "deleted"}


def changed_fields(before: TaskState, after: TaskState) -> dict[str, Any]:
    """The fields whose values differ, as JSON builtins (ClearML's `fields`)."""
    out: dict[str, Any] = {}
    for name in TaskState.__struct_fields__:
        if name in _SKIP:
            continue
        new = getattr(after, name)
        if new != getattr(before, name):
            out[name] = msgspec.to_builtins(new)
    return out


def single(
    command: cmd.Command, before: TaskState, after: TaskState, events: list[ev.AnyEvent]
) -> Result:
    """The answer to a command on one task."""
    updated = 1 if events else 0
    fields = changed_fields(before, after)
    match command:
        case cmd.PingTask() | cmd.ReportWorkerStatus():
            return {}
        case cmd.ClearTaskLog() | cmd.DeleteTaskEvents():
            # ClearML answers how many lines it deleted; the read model clears them after the
            # decision, so that count is not known here.
            return {}
        case cmd.EnqueueTask():
            return {"queued": 1, "updated": updated, "fields": fields}
        case cmd.DequeueTask():
            return {"dequeued": 1, "updated": updated, "fields": fields}
        case cmd.ArchiveTask():
            return {"archived": 1}
        case cmd.UnarchiveTask():
            return {"unarchived": 1}
        # ClearML answers these with the number of task documents it updated (0 or 1), not
        # the number of items.
        case cmd.DeleteHyperParams() | cmd.DeleteConfiguration() | cmd.DeleteArtifacts():
            return {"deleted": updated}
        case cmd.AddOrUpdateArtifacts() | cmd.EditHyperParams() | cmd.EditConfiguration():
            return {"updated": updated}
        case cmd.AddOrUpdateModel() | cmd.DeleteModels():
            return {"updated": updated}
        case cmd.ResetTask():
            return {"updated": updated, "fields": fields, "dequeued": {"removed": 0}}
        case cmd.PublishTask():
            return {"updated": updated, "fields": fields, "committed_versions_results": []}
        case cmd.StopTask():
            # ClearML writes the status with every status change, so its `fields` name it even
            # when a stop only asks the live worker to stop (the status stays).
            return {"updated": updated, "fields": {"status": after.status, **fields}}
        case cmd.MarkCompleted():
            # How many tasks this call published (ClearML's answer has it, 0 without publish).
            published = int(after.status == "published" != before.status)
            return {"updated": updated, "fields": fields, "published": published}
        case _:
            return {"updated": updated, "fields": fields}


def many(succeeded: list[Result], failed: list[Result]) -> Result:
    return {"succeeded": succeeded, "failed": failed}
