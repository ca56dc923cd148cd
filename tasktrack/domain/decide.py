"""decide(state, command, context) -> events: the one entry to the task rules, pure."""

from __future__ import annotations

from tasktrack.domain import commands as cmd
from tasktrack.domain import editing, lifecycle, params, placement, report_rules
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.errors import TaskNotFound
from tasktrack.domain.state import TaskState

# Every command on one existing task and its rule: a plain status move is declared here
# (lifecycle.moves_to), anything more is a function of lifecycle, editing or params.
RULES: dict[type[cmd.Command], lifecycle.Rule] = {
    cmd.EditTask: editing.edit,
    cmd.UpdateTask: editing.update,
    cmd.SetRequirements: editing.set_requirements,
    cmd.EditHyperParams: params.edit_hyper_params,
    cmd.DeleteHyperParams: params.delete_hyper_params,
    cmd.EditConfiguration: params.edit_configuration,
    cmd.DeleteConfiguration: params.delete_configuration,
    cmd.AddOrUpdateArtifacts: params.add_or_update_artifacts,
    cmd.DeleteArtifacts: params.delete_artifacts,
    cmd.AddOrUpdateModel: params.add_or_update_model,
    cmd.DeleteModels: params.delete_models,
    cmd.MarkStarted: lifecycle.moves_to("in_progress", ev.TaskStarted),
    cmd.MarkStopped: lifecycle.moves_to("stopped", ev.TaskStopped),
    cmd.MarkCompleted: lifecycle.completed,
    cmd.MarkFailed: lifecycle.moves_to("failed", ev.TaskFailed),
    cmd.CloseTask: lifecycle.moves_to("closed", ev.TaskClosed),
    cmd.StopTask: lifecycle.stop,
    cmd.EnqueueTask: lifecycle.enqueue,
    cmd.DequeueTask: lifecycle.dequeue,
    cmd.ResetTask: lifecycle.reset,
    cmd.PublishTask: lifecycle.publish,
    cmd.DeleteTask: lifecycle.delete,
    cmd.ArchiveTask: lifecycle.archive,
    cmd.UnarchiveTask: lifecycle.unarchive,
    cmd.PingTask: lifecycle.ping,
    cmd.ReportWorkerStatus: lifecycle.worker_report,
    cmd.ClearTaskLog: report_rules.clear_task_log,
    cmd.DeleteTaskEvents: report_rules.delete_for_task,
}


def decide(state: TaskState | None, command: cmd.OnTask, ctx: Context) -> list[ev.AnyEvent]:
    """The events a command on an existing task produces, or a DomainError.

    A missing task, a deleted one and another company's are the same 400/101, on purpose;
    a public one refuses every change (403/21).
    """
    if state is None or not state.visible_to(ctx.company):
        raise TaskNotFound(str(command.task or ""))
    placement.writable(state)  # a public task is read-only (403/21)
    return RULES[type(command)](state, command, ctx)
