"""The rules of reports (reports.*), pure: where a report lives, what may change in which
status. A report is a task, so its facts are the tasks' own events (TaskCreated, TaskUpdated,
TaskPublished, TaskArchived, TaskMoved, TaskDeleted): the status history and the audit read
a report's life like any task's."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain import placement
from tasktrack.domain import project_names as names
from tasktrack.domain.context import Context
from tasktrack.domain.editing import clean_name, clean_tags
from tasktrack.domain.errors import DomainError, InvalidTaskStatus
from tasktrack.domain.report_commands import CreateReport, UpdateReport
from tasktrack.domain.state import TaskState

REPORTS_PROJECT = ".reports"
REPORTS_TAG = "reports"
# Both a report and its .reports project carry these (hidden from the ordinary listings).
SYSTEM_TAGS = ["hidden", REPORTS_TAG]
# What a published report still lets change (ClearML's rule).
_ALLOWED_WHEN_PUBLISHED = frozenset({"name", "tags", "comment"})


class NotAReport(DomainError):
    """A reports.* command named a task that is not a report (ClearML's 400/150)."""

    subcode = 150

    def __init__(self, task_id: str) -> None:
        super().__init__(f"passed task is not report: id={task_id}", id=task_id)


def reports_project_name(project_name: str) -> str:
    """The .reports project of a project ("" is the top level): `a/b` -> `a/b/.reports`; a
    .reports project is its own."""
    name = names.clean(project_name) if project_name.strip("/ ") else ""
    if names.basename(name) == REPORTS_PROJECT:
        return name
    return f"{name}/{REPORTS_PROJECT}" if name else REPORTS_PROJECT


def check_report(state: TaskState) -> TaskState:
    if state.type != "report":
        raise NotAReport(state.id)
    return state


def create(c: CreateReport, ctx: Context, task_id: str, project: str) -> list[ev.AnyEvent]:
    """A new report in `project` (its .reports project); text and assets given at creation
    are a first update in the same append."""
    created = ev.TaskCreated(
        at=ctx.now,
        by=ctx.user,
        task_id=task_id,
        company=ctx.company,
        name=clean_name(c.name),
        type="report",
        comment=c.comment,
        tags=clean_tags(c.tags),
        system_tags=sorted(SYSTEM_TAGS),
        project=project,
    )
    content = _content_changes(c.report, c.report_assets)
    if not content:
        return [created]
    return [created, ev.TaskUpdated(at=ctx.now, by=ctx.user, changes=ev.TaskChanges(**content))]


def _content_changes(report: Any, assets: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if report is not UNSET:
        changes["report"] = report
    if assets is not UNSET:
        changes["report_assets"] = list(assets)
    return changes


def update(state: TaskState, c: UpdateReport, ctx: Context) -> list[ev.AnyEvent]:
    """Name, tags and comment in any status; the text and assets only of a draft (status
    created: 400/110 otherwise, as ClearML). Nothing given, nothing written."""
    placement.writable(check_report(state))
    changes = _content_changes(c.report, c.report_assets)
    if c.name is not UNSET:
        changes["name"] = clean_name(c.name)
    if c.tags is not UNSET:
        changes["tags"] = clean_tags(c.tags)
    if c.comment is not UNSET:
        changes["comment"] = c.comment
    if not changes:
        return []
    if state.status != "created" and not set(changes) <= _ALLOWED_WHEN_PUBLISHED:
        raise InvalidTaskStatus(
            f"Invalid task status: status={state.status}, expected=created (only name, tags "
            "and comment of a published report change)",
            expected="created",
            status=state.status,
        )
    return [ev.TaskUpdated(at=ctx.now, by=ctx.user, changes=ev.TaskChanges(**changes))]


def move(state: TaskState, project: str, ctx: Context) -> list[ev.AnyEvent]:
    """The report goes to another .reports project (nothing when it is there already)."""
    check_report(state)
    return placement.move(state, project, ctx)


def emptied(project: str | None, basename: str, remaining: int) -> bool:
    """A .reports project left with no task goes with its last report (as ClearML)."""
    return project is not None and basename == REPORTS_PROJECT and remaining == 0
