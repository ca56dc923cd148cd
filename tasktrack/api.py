"""The Python API: `tasktrack.connect()` and a client with one method per command and query.

For services that embed tasktrack. It calls the same service as the HTTP layer, so a command
behaves the same whichever door it came in by. Commands return ClearML's response `data` (plain
dicts); queries return typed Structs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import date, datetime
from typing import Any, Literal, Self, TypeVar, overload

import msgspec
from msgspec import structs
from sqlalchemy import Connection, Engine

from tasktrack.api_events import EventReadMethods
from tasktrack.api_files import FileMethods
from tasktrack.api_models import ModelMethods
from tasktrack.api_organization import OrganizationMethods
from tasktrack.api_pipelines import PipelineMethods
from tasktrack.api_preferences import PreferenceMethods
from tasktrack.api_queues import QueueMethods
from tasktrack.api_reports import ReportMethods
from tasktrack.api_serving import ServingMethods
from tasktrack.api_workers import WorkerMethods
from tasktrack.config import Settings, load_settings
from tasktrack.domain import codec
from tasktrack.domain import commands as cmd
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.limits import MAX_KEY_LENGTH, too_long
from tasktrack.queries import (
    activity,
    analytics,
    project_children,
    project_contents,
    project_params,
    project_stats,
    shaping,
    timetravel,
    users,
)
from tasktrack.queries import logs as log_queries
from tasktrack.queries import metrics as metric_queries
from tasktrack.queries import params as param_queries
from tasktrack.queries import projects as project_queries
from tasktrack.queries import tasks as task_queries
from tasktrack.queries.analytics_views import (
    QueueWait,
    StatusDuration,
    StatusInterval,
    StatusSummary,
    TaskInStatus,
)
from tasktrack.queries.reading import reading
from tasktrack.queries.views import StatusHistoryEntry, TaskView
from tasktrack.service import Caller, TaskService
from tasktrack.service.results import Result
from tasktrack.store import migrate, scrolls
from tasktrack.store.engine import open_database, raw

DEFAULT_COMPANY = "default"
DEFAULT_USER = "local"


def start(engine: Engine) -> TaskService:
    """Start-up checks (schema current, upcaster chains complete), then the service."""
    codec.check_upcasters()
    migrate.require_current(engine)
    return TaskService(engine)


_Row = TypeVar("_Row")


class Client(
    ModelMethods,
    WorkerMethods,
    EventReadMethods,
    QueueMethods,
    OrganizationMethods,
    ReportMethods,
    PipelineMethods,
    ServingMethods,
    FileMethods,
    PreferenceMethods,
):
    """tasktrack for one caller (company and user). Thread-safe: share it.

    With `read_timeout_ms`, every read runs under that statement timeout and one that runs
    past it is refused with 400/16 (QueryTooSlow) instead of holding a connection.
    """

    def __init__(
        self,
        engine: Engine,
        caller: Caller,
        service: TaskService | None = None,
        *,
        read_timeout_ms: int | None = None,
    ) -> None:
        self.engine = engine
        self.caller = caller
        self.service = service or start(engine)
        self.read_timeout_ms = read_timeout_ms
        self._closer: ExitStack | None = None

    def as_caller(self, company: str, user: str) -> Client:
        """The same connection, acting as another company/user."""
        return Client(
            self.engine,
            Caller(company=company, user=user),
            self.service,
            read_timeout_ms=self.read_timeout_ms,
        )

    # --- plumbing ---------------------------------------------------------------------------

    def execute(self, command: cmd.Command, request_id: str | None = None) -> Result:
        if request_id is not None and too_long(request_id):
            raise InvalidRequest(
                f"Validation error: a request id has at most {MAX_KEY_LENGTH} characters",
                field="request_id",
            )
        steps = self.steps_of(command)  # include_pipeline_steps (api_pipelines.py)
        result = self.service.execute(command, self.caller, request_id=request_id)
        if steps is not None:
            self.service.execute(steps, self.caller)
        return result

    def _do(self, kind: type[cmd.Command], fields: dict[str, Any]) -> Result:
        """Validate the fields into the command (as an HTTP body would be), then run it."""
        request_id = fields.pop("request_id", None)
        try:
            command = msgspec.convert(cmd.given_fields(kind, fields), kind)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(f"Validation error: {exc}") from exc
        return self.execute(command, request_id=request_id)

    def _read(self) -> AbstractContextManager[Connection]:
        return reading(self.engine, self.read_timeout_ms)

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queries ----------------------------------------------------------------------------

    def get_by_id(self, task: str, as_of: datetime | int | str | None = None) -> TaskView:
        """The task now, or as it was at `as_of` (a stream version, or a time)."""
        with self._read() as conn:
            if as_of is None:
                return task_queries.get_by_id(conn, self.caller.company, task)
            moment = as_of if isinstance(as_of, datetime) else timetravel.parse_as_of(as_of)
            if isinstance(moment, datetime) and moment.tzinfo is None:
                raise InvalidRequest("Validation error: as_of needs a timezone")
            return timetravel.task_as_of(raw(conn), self.caller.company, task, moment)

    @overload
    def get_all(self, *, only_fields: list[str], **filters: Any) -> list[dict[str, Any]]: ...

    @overload
    def get_all(self, **filters: Any) -> list[TaskView]: ...

    def get_all(
        self, *, only_fields: list[str] | None = None, **filters: Any
    ) -> list[TaskView] | list[dict[str, Any]]:
        """tasks.get_all with the whole filter language of SEMANTICS §5 (docs/semantics.md).

        List fields (a value, a list with `-` and `__$` tokens, or None for missing/empty): id,
        user, tags, system_tags, type, status, project, parent, and `**{"execution.queue": q}`.
        Ranges `[min, max]`: created, started (ISO strings or datetimes), active_duration,
        last_iteration, `**{"last_metrics.<mh>.<vh>.<field>": [lo, hi]}`. status_changed,
        last_update, last_change: ">=2024-05-01" (or a list, or a pair). name, comment: regular
        expressions; search_text; order_by, page, page_size, search_hidden.

        With `only_fields` (dotted paths, `-` excludes; id always stays) each task comes as the
        dict HTTP answers, shaped by the same function; without it, as whole TaskViews.
        """
        fields = None if only_fields is None else shaping.paths(only_fields)
        found = self.query_all(task_queries.request_from(filters, task_queries.GetAllRequest))
        return found if fields is None else shaping.shape(found, fields)

    def query_all(
        self, query: task_queries.GetAllRequest, window: tuple[int, int] | None = None
    ) -> list[TaskView]:
        """get_all with an already validated filter (what the HTTP layer decoded); `window`
        (start, size) replaces its page, for a scroll."""
        with self._read() as conn:
            return task_queries.get_all(conn, self.caller.company, query, window)

    def query_scroll(
        self,
        query: task_queries.GetAllRequest,
        scroll_id: str | None,
        window: Callable[[int], tuple[int, int]],
    ) -> tuple[list[TaskView], str]:
        """One page of a tasks listing scroll: (tasks, the scroll's id); see `scrolled`."""
        company = self.caller.company
        return self.scrolled(
            scroll_id, window, lambda conn, at: task_queries.get_all(conn, company, query, at)
        )

    def scrolled(
        self,
        scroll_id: str | None,
        window: Callable[[int], tuple[int, int]],
        read: Callable[[Connection, tuple[int, int]], list[_Row]],
    ) -> tuple[list[_Row], str]:
        """One page of a listing scroll (tasks, models, projects): (rows, the scroll's id).
        `window` turns the scroll's stored position into (start, size), `read` reads that
        window; the id stays the same for the scroll's life (a None, unknown, other company's
        or expired id starts a new one), as ClearML's web UI expects."""
        company = self.caller.company
        with self._read() as conn:
            scroll_id, at = scrolls.position(conn, company, scroll_id)
            start, size = window(at)
            rows = read(conn, (start, size))
        # The read runs under the read timeout (`_read`); moving the scroll is a write, in a
        # transaction of its own.
        with self.engine.begin() as conn:
            scrolls.move(conn, company, scroll_id, start + len(rows))
        return rows, scroll_id

    def get_scalar_series(
        self,
        task: str,
        metric: str | None = None,
        all_runs: bool = False,
        samples: int = metric_queries.DEFAULT_SAMPLES,
        models: bool = False,
    ) -> metric_queries.Series:
        """events.scalar_metrics_iter_histogram: {metric: {variant: {name, x, y, timestamps}}},
        at most `samples` buckets per series and run (capped at 10,000; 0 means the cap)."""
        with self._read() as conn:
            return metric_queries.scalar_series(
                conn,
                self.caller.company,
                task,
                metric=metric,
                all_runs=all_runs,
                samples=samples,
                models=models,
            )

    def get_task_log(self, task: str, **options: Any) -> log_queries.TaskLog:
        """events.get_task_log: console lines (batch_size, navigate_earlier, from_timestamp)."""
        with self._read() as conn:
            return log_queries.task_log(conn, self.caller.company, task, **options)

    def get_project(self, project: str) -> project_queries.ProjectView:
        with self._read() as conn:
            return project_queries.get_by_id(conn, self.caller.company, project)

    def get_projects(self, **filters: Any) -> list[project_queries.ProjectView]:
        """Filters: id (list), name (a regular expression), search_hidden, page, page_size."""
        try:
            query = msgspec.convert(filters, project_queries.ProjectFilter)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(f"Validation error: {exc}") from exc
        return self.query_projects(query)

    def query_projects(
        self, query: project_queries.ProjectFilter
    ) -> list[project_queries.ProjectView]:
        with self._read() as conn:
            return project_queries.get_all(conn, self.caller.company, query)

    def query_projects_scroll(
        self,
        query: project_queries.ProjectFilter,
        scroll_id: str | None,
        window: Callable[[int], tuple[int, int]],
    ) -> tuple[list[project_queries.ProjectView], str]:
        """One page of a projects listing scroll (projects.get_all_ex); see `scrolled`."""
        company = self.caller.company
        return self.scrolled(
            scroll_id, window, lambda conn, at: project_queries.get_all(conn, company, query, at)
        )

    def project_stats(
        self,
        ids: list[str],
        users: list[str] | None = None,
        children: project_children.Children | None = None,
        search_hidden: bool = True,
        allowed: set[str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
        """projects.get_all_ex include_stats: per project {"active": ...} (or, by
        children_type dataset, {"datasets": ...}) and sub projects."""
        with self._read() as conn:
            return project_children.listing_stats(
                conn,
                self.caller.company,
                ids,
                users,
                children,
                search_hidden=search_hidden,
                allowed=allowed,
            )

    def projects_with_children(
        self, children: project_children.Children, users: list[str] | None = None
    ) -> set[str]:
        """projects.get_all_ex children_type: the projects holding such children, and their
        ancestors."""
        with self._read() as conn:
            return project_children.selected(conn, self.caller.company, children, users)

    def project_dataset_stats(
        self, ids: list[str], users: list[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """projects.get_all_ex include_dataset_stats: {file_count, total_size} per project."""
        with self._read() as conn:
            return project_stats.dataset_stats(conn, self.caller.company, ids, users)

    def project_parents(self, ids: list[str]) -> dict[str, dict[str, str]]:
        with self._read() as conn:
            return project_stats.parents(conn, self.caller.company, ids)

    def project_own_contents(
        self,
        ids: list[str],
        users: list[str] | None = None,
        children: project_children.Children | None = None,
    ) -> dict[str, dict[str, int]]:
        """projects.get_all_ex check_own_contents: own unarchived tasks and models (of the
        children_type), or own datasets."""
        with self._read() as conn:
            return project_children.listing_own(conn, self.caller.company, ids, users, children)

    def project_hyper_parameters(
        self, project: str | None = None, **options: Any
    ) -> project_params.ParamNames:
        """projects.get_hyper_parameters (include_subprojects, page, page_size)."""
        with self._read() as conn:
            return project_params.hyper_parameters(
                conn, self.caller.company, [project] if project else None, **options
            )

    def project_hyperparam_values(
        self, projects: list[str] | None, section: str, name: str, **options: Any
    ) -> project_params.ParamValues:
        """projects.get_hyperparam_values (include_subprojects, pattern, page, page_size)."""
        with self._read() as conn:
            # ClearML's `projects` is a list: absent is empty, no constraint at all.
            return project_params.hyperparam_values(
                conn, self.caller.company, projects or [], section=section, name=name, **options
            )

    def project_metric_variants(
        self, project: str | None = None, **options: Any
    ) -> list[dict[str, Any]]:
        """projects.get_unique_metric_variants (task_ids, include_subprojects)."""
        with self._read() as conn:
            return project_params.unique_metric_variants(
                conn, self.caller.company, [project] if project else None, **options
            )

    def project_tags(
        self,
        of: project_contents.TagsOf,
        projects: list[str] | None = None,
        include_system: bool = False,
        tag_filter: project_contents.TagFilter | None = None,
    ) -> project_contents.Tags:
        """projects.get_task_tags/get_model_tags/get_project_tags: tags of the tasks or models
        in (and below) these projects, or the projects' own."""
        with self._read() as conn:
            return project_contents.tags(
                conn,
                self.caller.company,
                of,
                projects,
                include_system=include_system,
                f=tag_filter,
            )

    def task_parents(self, **options: Any) -> list[dict[str, Any]]:
        """projects.get_task_parents (projects, state, task_name, include_subprojects)."""
        with self._read() as conn:
            return project_contents.task_parents(conn, self.caller.company, **options)

    def validate_project_delete(self, project: str) -> dict[str, int]:
        with self._read() as conn:
            return project_contents.validate_delete(conn, self.caller.company, project)

    def current_user(self) -> dict[str, Any]:
        """users.get_current_user: the caller, as ClearML shapes a user."""
        return users.user_view(self.caller.company, self.caller.user)

    def get_users(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """users.get_all: the company's users (those its credentials name)."""
        with self._read() as conn:
            return users.company_users(conn, self.caller.company, ids)

    def active_users(
        self, projects: list[str], ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """users.get_all_ex active_in_projects: users who created these projects or something
        in them (every project: an empty list)."""
        with self._read() as conn:
            return users.active_users(conn, self.caller.company, projects, ids)

    def project_user_names(
        self,
        entity: Literal["task", "model"],
        projects: list[str] | None = None,
        include_subprojects: bool = True,
    ) -> list[dict[str, str]]:
        """projects.get_user_names: {id, name} of who created the tasks or models of projects."""
        with self._read() as conn:
            return users.entity_users(
                conn, self.caller.company, entity, projects, include_subprojects
            )

    def get_user(self, user: str) -> dict[str, Any]:
        with self._read() as conn:
            return users.user_by_id(conn, self.caller.company, user)

    def get_types(self, projects: list[str] | None = None) -> list[str]:
        """tasks.get_types: the task types in use in the company (in `projects`, if given)."""
        with self._read() as conn:
            return task_queries.task_types(conn, self.caller.company, projects or ())

    def get_hyper_params(self, tasks: list[str]) -> list[param_queries.TaskParams]:
        """tasks.get_hyper_params: each task's hyperparameters as one list (400/101 for an
        unknown id)."""
        with self._read() as conn:
            return param_queries.hyper_params(conn, self.caller.company, tasks)

    def get_configurations(
        self, tasks: list[str], names: list[str] | None = None
    ) -> list[param_queries.TaskConfiguration]:
        """tasks.get_configurations: each task's configuration items (the named ones only,
        if `names` is given)."""
        with self._read() as conn:
            return param_queries.configurations(conn, self.caller.company, tasks, names)

    def get_configuration_names(
        self, tasks: list[str], skip_empty: bool = True
    ) -> list[param_queries.TaskConfigurationNames]:
        """tasks.get_configuration_names: the names of each task's configuration items
        (those with a value, unless skip_empty is false)."""
        with self._read() as conn:
            return param_queries.configuration_names(conn, self.caller.company, tasks, skip_empty)

    def get_status_history(self, task: str) -> list[StatusHistoryEntry]:
        with self._read() as conn:
            return task_queries.status_history(conn, self.caller.company, task)

    # --- status analytics over the SQL views (docs/analytics.md), in the caller's company ----
    # Times are datetimes with a zone or ISO strings; since/until select by entry time.

    def status_intervals(
        self,
        task: str | None = None,
        *,
        project: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = analytics.DEFAULT_LIMIT,
    ) -> list[StatusInterval]:
        """Each stay in a status, [entered_at, left_at), oldest entry first."""
        with self._read() as conn:
            return analytics.status_intervals(
                conn,
                self.caller.company,
                task=task,
                project=project,
                status=status,
                since=since,
                until=until,
                limit=limit,
            )

    def status_durations(
        self,
        task: str | None = None,
        *,
        project: str | None = None,
        status: str | None = None,
        limit: int = analytics.DEFAULT_LIMIT,
    ) -> list[StatusDuration]:
        """Per task and status: how often it was entered and the time spent in it."""
        with self._read() as conn:
            return analytics.status_durations(
                conn, self.caller.company, task=task, project=project, status=status, limit=limit
            )

    def queue_waits(
        self,
        task: str | None = None,
        *,
        project: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        started_only: bool = False,
        limit: int = analytics.DEFAULT_LIMIT,
    ) -> list[QueueWait]:
        """Each visit to the queue: queued_at, started_at and wait_seconds once it ran."""
        with self._read() as conn:
            return analytics.task_queue_waits(
                conn,
                self.caller.company,
                task=task,
                project=project,
                since=since,
                until=until,
                started_only=started_only,
                limit=limit,
            )

    def status_summary(
        self,
        group_by: str = "project",
        *,
        project: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[StatusSummary]:
        """Per project, type, user or UTC day, and status: entries and time spent."""
        with self._read() as conn:
            return analytics.status_summary(
                conn,
                self.caller.company,
                group_by,
                project=project,
                status=status,
                since=since,
                until=until,
            )

    def tasks_in_status(self, status: str, at: datetime | str) -> list[TaskInStatus]:
        """The tasks that were in `status` at `at` (a stay is [entered_at, left_at))."""
        with self._read() as conn:
            return analytics.tasks_in_status(conn, self.caller.company, status, at)

    # --- daily activity from the activity_daily rollup (a catch-up projection) ---------------

    def project_activity(
        self,
        project: str | None = None,
        *,
        since: date | str | None = None,
        until: date | str | None = None,
        limit: int = analytics.DEFAULT_LIMIT,
    ) -> activity.ProjectActivity:
        """Per project and UTC day, from the `activity_daily` catch-up rollup (both days
        included): fresh as of `tasktrack projections run`, and the answer says how far."""
        with self._read() as conn:
            return activity.project_activity(
                conn, self.caller.company, project=project, since=since, until=until, limit=limit
            )

    # --- commands: one method each; keyword arguments are the ClearML request fields --------

    def create(self, **f: Any) -> Result:
        return self._do(cmd.CreateTask, f)

    def validate(self, **f: Any) -> Result:
        return self._do(cmd.ValidateTask, f)

    def edit(self, **f: Any) -> Result:
        return self._do(cmd.EditTask, f)

    def update(self, **f: Any) -> Result:
        return self._do(cmd.UpdateTask, f)

    def clone(self, **f: Any) -> Result:
        return self._do(cmd.CloneTask, f)

    def delete(self, **f: Any) -> Result:
        return self._do(cmd.DeleteTask, f)

    def reset(self, **f: Any) -> Result:
        return self._do(cmd.ResetTask, f)

    def started(self, **f: Any) -> Result:
        return self._do(cmd.MarkStarted, f)

    def stopped(self, **f: Any) -> Result:
        return self._do(cmd.MarkStopped, f)

    def completed(self, **f: Any) -> Result:
        return self._do(cmd.MarkCompleted, f)

    def failed(self, **f: Any) -> Result:
        return self._do(cmd.MarkFailed, f)

    def close_task(self, **f: Any) -> Result:
        """tasks.close (named so as not to shadow Client.close)."""
        return self._do(cmd.CloseTask, f)

    def stop(self, **f: Any) -> Result:
        return self._do(cmd.StopTask, f)

    def enqueue(self, **f: Any) -> Result:
        return self._do(cmd.EnqueueTask, f)

    def dequeue(self, **f: Any) -> Result:
        return self._do(cmd.DequeueTask, f)

    def publish(self, **f: Any) -> Result:
        return self._do(cmd.PublishTask, f)

    def archive(self, *, tasks: list[str], **f: Any) -> Result:
        """tasks.archive: answers {archived: n}."""
        result = self._do(cmd.ArchiveTasks, {"ids": tasks, **f})
        return {"archived": len(result["succeeded"])}

    def ping(self, **f: Any) -> Result:
        return self._do(cmd.PingTask, f)

    def delete_task_events(self, **f: Any) -> Result:
        """events.delete_for_task {task, allow_locked?}."""
        return self._do(cmd.DeleteTaskEvents, f)

    def clear_task_log(self, **f: Any) -> Result:
        """events.clear_task_log {task, threshold_sec?, include_metrics?, exclude_metrics?}."""
        return self._do(cmd.ClearTaskLog, f)

    def update_tags(self, **f: Any) -> Result:
        return self._do(cmd.UpdateTags, f)

    def set_requirements(self, **f: Any) -> Result:
        return self._do(cmd.SetRequirements, f)

    def edit_hyper_params(self, **f: Any) -> Result:
        return self._do(cmd.EditHyperParams, f)

    def delete_hyper_params(self, **f: Any) -> Result:
        return self._do(cmd.DeleteHyperParams, f)

    def edit_configuration(self, **f: Any) -> Result:
        return self._do(cmd.EditConfiguration, f)

    def delete_configuration(self, **f: Any) -> Result:
        return self._do(cmd.DeleteConfiguration, f)

    def add_or_update_artifacts(self, **f: Any) -> Result:
        return self._do(cmd.AddOrUpdateArtifacts, f)

    def delete_artifacts(self, **f: Any) -> Result:
        return self._do(cmd.DeleteArtifacts, f)

    def add_or_update_model(self, **f: Any) -> Result:
        return self._do(cmd.AddOrUpdateModel, f)

    def delete_models(self, **f: Any) -> Result:
        return self._do(cmd.DeleteModels, f)

    def worker_status_report(self, **f: Any) -> Result:
        """workers.status_report {worker, task, machine_stats, ...}: a heartbeat (a row); the
        task it runs is live for `stop`."""
        return self._do(cmd.ReportWorkerStatus, f)

    def add_events(self, events: list[Any], request_id: str | None = None) -> Result:
        """events.add_batch: scalar events ({task, type, metric, variant, value, iter, ...})."""
        return self.execute(cmd.AddEvents(events=events), request_id=request_id)

    def create_project(self, **f: Any) -> Result:
        """projects.create {name, description?, tags?, system_tags?}: {id}."""
        return self._do(cmd.CreateProject, f)

    def update_project(self, **f: Any) -> Result:
        """projects.update {project, name?, description?, tags?, system_tags?}: {updated}."""
        return self._do(cmd.UpdateProject, f)

    def move_project(self, **f: Any) -> Result:
        """projects.move {project, new_location}: {moved} (the project and its children)."""
        return self._do(cmd.MoveProject, f)

    def merge_project(self, **f: Any) -> Result:
        """projects.merge {project, destination_project}: {moved_entities, moved_projects}."""
        return self._do(cmd.MergeProject, f)

    def delete_project(self, **f: Any) -> Result:
        """projects.delete {project, force?}: {deleted, disassociated_tasks, ...}."""
        return self._do(cmd.DeleteProject, f)

    def make_projects_public(self, **f: Any) -> Result:
        return self._do(cmd.MakeProjectsPublic, f)

    def make_projects_private(self, **f: Any) -> Result:
        return self._do(cmd.MakeProjectsPrivate, f)

    def move_tasks(self, **f: Any) -> Result:
        """tasks.move {ids, project | project_name}: {project_id}."""
        return self._do(cmd.MoveTasks, f)

    def make_tasks_public(self, **f: Any) -> Result:
        return self._do(cmd.MakeTasksPublic, f)

    def make_tasks_private(self, **f: Any) -> Result:
        return self._do(cmd.MakeTasksPrivate, f)

    def reset_many(self, **f: Any) -> Result:
        return self._do(cmd.ResetTasks, f)

    def delete_many(self, **f: Any) -> Result:
        return self._do(cmd.DeleteTasks, f)

    def stop_many(self, **f: Any) -> Result:
        return self._do(cmd.StopTasks, f)

    def enqueue_many(self, **f: Any) -> Result:
        return self._do(cmd.EnqueueTasks, f)

    def dequeue_many(self, **f: Any) -> Result:
        return self._do(cmd.DequeueTasks, f)

    def publish_many(self, **f: Any) -> Result:
        return self._do(cmd.PublishTasks, f)

    def archive_many(self, **f: Any) -> Result:
        return self._do(cmd.ArchiveTasks, f)

    def unarchive_many(self, **f: Any) -> Result:
        return self._do(cmd.UnarchiveTasks, f)


def connect(
    url: str | None = None,
    *,
    company: str = DEFAULT_COMPANY,
    user: str = DEFAULT_USER,
    settings: Settings | None = None,
) -> Client:
    """A client on `url` (None: TASKTRACK_DATABASE_URL, else the embedded server).

    The database must be migrated (`tasktrack db upgrade`); with the embedded server this is
    done here. Close the client (or use it as a context manager) to release the connections.
    """
    base = settings or load_settings()
    if url is not None:
        base = structs.replace(base, database_url=url)
    stack = ExitStack()
    try:
        db = stack.enter_context(open_database(base))
        if db.embedded:
            migrate.upgrade(db.engine)
        client = Client(
            db.engine, Caller(company=company, user=user), read_timeout_ms=base.read_timeout_ms
        )
    except BaseException:
        stack.close()
        raise
    client._closer = stack
    return client
