"""Every endpoint: its name, the Struct its body decodes into, and what it runs.

Command endpoints decode straight into the command Struct and go to the service (through the
same Client the Python API uses); query endpoints call the queries. Decoders are built once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain.errors import RoleNotAllowed, TaskNotFound
from tasktrack.domain.metrics import EventIn
from tasktrack.http import (
    analytics,
    event_endpoints,
    model_endpoints,
    organization_endpoints,
    pipeline_endpoints,
    project_endpoints,
    queue_endpoints,
    report_endpoints,
    serving_endpoints,
    session_endpoints,
    task_endpoints,
    worker_endpoints,
)
from tasktrack.http.calls import Answered, Call, Spec
from tasktrack.http.session import set_cookie
from tasktrack.queries.filter_request import MAX_PAGE_SIZE, GetAllRequest, request_from
from tasktrack.queries.metrics import DEFAULT_SAMPLES
from tasktrack.queries.projects import ProjectFilter
from tasktrack.queries.scalars import keyed
from tasktrack.queries.shaping import shape

# --- request bodies of the query endpoints ---------------------------------------------------


class TaskId(msgspec.Struct, frozen=True, kw_only=True):
    task: str


class GetById(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    as_of: str | int | None = None  # tasktrack: the task as it was (a version or an ISO time)


class GetAll(GetAllRequest, frozen=True, kw_only=True):
    only_fields: list[str] | None = None


def _parse_get_all(body: dict[str, Any]) -> GetAll:
    return request_from(body, GetAll)


class ScalarHistogram(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    metric: str | None = None
    all_runs: bool = False
    # Buckets per series (ClearML's); capped at MAX_SAMPLES; null (the SDK's) is the default.
    samples: int | None = DEFAULT_SAMPLES
    key: Literal["iter", "timestamp", "iso_time"] | None = "iter"  # the x axis
    model_events: bool = False  # `task` names a model: its events reported with model_event


class Archive(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]
    status_reason: str = ""
    status_message: str = ""
    include_pipeline_steps: bool = False


class TaskLogRequest(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    batch_size: int = 500
    navigate_earlier: bool = True
    from_timestamp: int | None = None
    order: Literal["asc", "desc"] | None = None  # the page's order (ClearML's; default: as read)
    metrics: list[event_endpoints.MetricVariants] | None = None  # lines of these metrics only


class ProjectId(msgspec.Struct, frozen=True, kw_only=True):
    project: str


class GetProjects(ProjectFilter, frozen=True, kw_only=True):
    only_fields: list[str] | None = None


class GetTypes(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str] | None = None


class Empty(msgspec.Struct, frozen=True):
    pass


# --- what they run ---------------------------------------------------------------------------


def _command(call: Call, command: cmd.Command) -> Any:
    return _clearml_field_times(call.client.execute(command, request_id=call.request_id))


# The times a command's answer names in `fields` (what it changed).
_TIME_FIELDS = frozenset(
    {
        "created",
        "started",
        "completed",
        "published",
        "status_changed",
        "last_update",
        "last_change",
        "last_used",
    }
)


def _clearml_field_times(result: Any) -> Any:
    """The changed fields' times as ClearML writes them (`+00:00`, not `Z`): the web UI merges
    a command's `fields` into its rows and appends +00:00 to a time that lacks it, so a `Z`
    time showed as no time at all."""
    if not isinstance(result, dict):
        return result
    entries = [result, *(e for e in result.get("succeeded") or [] if isinstance(e, dict))]
    for entry in entries:
        fields = entry.get("fields")
        if isinstance(fields, dict):
            for key in _TIME_FIELDS & fields.keys():
                value = fields[key]
                if isinstance(value, str) and value.endswith("Z"):
                    fields[key] = value[:-1] + "+00:00"
    return result


def _archive(call: Call, body: Archive) -> Any:
    # As ClearML: an id that names no task of the caller's is 400/101 before anything is
    # archived (archive_many instead reports it among the failed).
    wanted = sorted(set(body.tasks))
    for i in range(0, len(wanted), MAX_PAGE_SIZE):
        chunk: list[str | None] = list(wanted[i : i + MAX_PAGE_SIZE])
        found = call.client.query_all(GetAllRequest(id=chunk, search_hidden=True))
        missing = sorted(set(wanted[i : i + MAX_PAGE_SIZE]) - {t.id for t in found})
        if missing:
            raise TaskNotFound(missing[0])
    many = cmd.ArchiveTasks(
        ids=body.tasks,
        status_reason=body.status_reason,
        status_message=body.status_message,
        include_pipeline_steps=body.include_pipeline_steps,
    )
    result = call.client.execute(many, request_id=call.request_id)
    return {"archived": len(result["succeeded"])}


def _get_by_id(call: Call, body: GetById) -> Any:
    return {"task": call.client.get_by_id(body.task, as_of=body.as_of)}


def _get_all(call: Call, body: GetAll) -> Any:
    tasks = call.client.query_all(body)
    if body.only_fields:
        return {"tasks": shape(tasks, body.only_fields)}
    return {"tasks": tasks}


def _history(call: Call, body: TaskId) -> Any:
    entries = call.client.get_status_history(body.task)
    return {
        "history": [
            {
                "version": h.version,
                "from_status": h.from_status,
                "to_status": h.to_status,
                "reason": h.reason,
                "message": h.message,
                "user": h.user,
                "at": h.at,
                "force": h.force,
            }
            for h in entries
        ]
    }


def _series(call: Call, body: ScalarHistogram) -> Any:
    series = call.client.get_scalar_series(
        body.task,
        metric=body.metric,
        all_runs=body.all_runs,
        samples=DEFAULT_SAMPLES if body.samples is None else body.samples,
        models=body.model_events,
    )
    if body.key in (None, "iter"):
        return series
    return {
        m: {v: structs.replace(s, x=keyed(s.x, s.timestamps, str(body.key))) for v, s in by.items()}
        for m, by in series.items()
    }


def _task_log(call: Call, body: TaskLogRequest) -> Any:
    found = call.client.get_task_log(
        body.task,
        batch_size=body.batch_size,
        navigate_earlier=body.navigate_earlier,
        from_timestamp=body.from_timestamp,
        metrics={m.metric: m.variants for m in body.metrics} if body.metrics else None,
    )
    # As ClearML: a page read going back is newest first, one read going forward oldest
    # first; `order` asks for the other order of the same page.
    if body.order == ("asc" if body.navigate_earlier else "desc"):
        return structs.replace(found, events=found.events[::-1])
    return found


def _get_project(call: Call, body: ProjectId) -> Any:
    return {"project": call.client.get_project(body.project)}


def _get_projects(call: Call, body: GetProjects) -> Any:
    found = call.client.query_projects(body)
    if body.only_fields:
        return {"projects": shape(found, body.only_fields)}
    return {"projects": found}


def _get_types(call: Call, body: GetTypes) -> Any:
    return {"types": call.client.get_types(body.projects)}


def _add_events(call: Call, events: list[Any]) -> Any:
    return call.client.add_events(events, request_id=call.request_id)


def _ping(call: Call, body: Empty) -> Any:
    return {"msg": "tasktrack server"}


def _login(call: Call, body: Empty) -> Any:
    # The token is also the web UI's session cookie, as ClearML's server sets it on login.
    token = call.auth.login(call.authorization, call.address)
    return Answered(data=token, headers={"Set-Cookie": set_cookie(token.token, token.expires_in)})


def _create_user(call: Call, body: Empty) -> Any:
    # Users are the credentials' users: an operator adds one with `tasktrack credentials create`.
    raise RoleNotAllowed(
        "Forbidden (not allowed for role): users come from credentials; "
        "create one with `tasktrack credentials create --company C --user U`"
    )


def _nulls_dropped(kind: type[cmd.Command]) -> Callable[[dict[str, Any]], Any]:
    """A parser for a command whose top-level nulls mean "not given" (`nulls_absent`)."""

    def parse(body: dict[str, Any]) -> Any:
        return msgspec.convert(cmd.given_fields(kind, body), kind)

    return parse


def _table() -> dict[str, Spec]:
    # Every command that names an endpoint (domain/commands.py) is served as it is declared.
    specs = [
        Spec(
            name=kind.endpoint,
            request=kind,
            run=_command,
            summary=kind.summary,
            parse=_nulls_dropped(kind) if kind.nulls_absent else None,
        )
        for kind in cmd.declared()
        if kind.endpoint is not None
    ]
    specs += [
        Spec(name="tasks.archive", request=Archive, run=_archive, summary="Archive tasks"),
        Spec(
            name="tasks.get_by_id",
            request=GetById,
            run=_get_by_id,
            summary="A task, now or as it was at `as_of` (a stream version or an ISO time)",
        ),
        Spec(
            name="tasks.get_all",
            request=GetAll,
            run=_get_all,
            parse=_parse_get_all,
            summary="Tasks by filters (the filter language of SEMANTICS §5)",
        ),
        Spec(
            name="tasks.get_types",
            request=GetTypes,
            run=_get_types,
            summary="The task types in use (in the given projects, if any)",
        ),
        Spec(
            name="tasks.get_status_history",
            request=TaskId,
            run=_history,
            summary="A task's status changes, oldest first",
        ),
        Spec(
            name="events.add",
            request=EventIn,
            run=_add_events,
            body="event",
            summary="Report one event",
        ),
        Spec(
            name="events.add_batch",
            request=EventIn,
            run=_add_events,
            body="ndjson",
            summary="Report events (newline-delimited JSON)",
        ),
        Spec(
            name="events.scalar_metrics_iter_histogram",
            request=ScalarHistogram,
            run=_series,
            summary="Scalar series of a task, at most `samples` buckets (means) per series",
        ),
        Spec(
            name="events.get_task_log",
            request=TaskLogRequest,
            run=_task_log,
            summary="A task's console output",
        ),
        Spec(name="projects.get_by_id", request=ProjectId, run=_get_project, summary="A project"),
        Spec(
            name="projects.get_all",
            request=GetProjects,
            run=_get_projects,
            summary="Projects by id or name (a regular expression)",
        ),
        Spec(
            name="debug.ping",
            request=Empty,
            run=_ping,
            anonymous=True,
            summary="Is the server up (no auth)",
        ),
        Spec(
            name="auth.login",
            request=Empty,
            run=_login,
            anonymous=True,  # it checks HTTP Basic credentials itself
            summary="HTTP Basic credentials in, a bearer token out",
        ),
        Spec(
            name="auth.create_user",
            request=Empty,
            run=_create_user,
            summary="Refused (403): users come from credentials (tasktrack credentials create)",
        ),
    ]
    # Status analytics over the SQL views (declared in http/analytics.py).
    specs += analytics.ENDPOINTS
    # The tasks service beyond the command endpoints (declared in http/task_endpoints.py).
    specs += task_endpoints.ENDPOINTS
    # The events service's readers (declared in http/event_endpoints.py).
    specs += event_endpoints.ENDPOINTS
    # The models service (declared in http/model_endpoints.py).
    specs += model_endpoints.endpoints()
    # The workers service (declared in http/worker_endpoints.py).
    specs += worker_endpoints.endpoints()
    # The queues service (declared in http/queue_endpoints.py).
    specs += queue_endpoints.endpoints()
    # projects.* queries, users.* and server.* (declared in http/project_endpoints.py).
    specs += project_endpoints.ENDPOINTS
    # organization.* queries (declared in http/organization_endpoints.py).
    specs += organization_endpoints.ENDPOINTS
    # The reports service (declared in http/report_endpoints.py).
    specs += report_endpoints.endpoints()
    # The pipelines service (declared in http/pipeline_endpoints.py).
    specs += pipeline_endpoints.ENDPOINTS
    # The serving service (declared in http/serving_endpoints.py).
    specs += serving_endpoints.endpoints()
    # The web UI's login modes, logout and preferences (declared in http/session_endpoints.py).
    specs += session_endpoints.ENDPOINTS
    return {s.name: s for s in specs}


ENDPOINTS = _table()
