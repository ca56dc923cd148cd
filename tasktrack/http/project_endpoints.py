"""The projects.* query endpoints beyond get_by_id/get_all, and users.* and server.*: their
request bodies and what they run (the command endpoints are declared with their commands)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.http import scrolling
from tasktrack.http.calls import Call, Spec
from tasktrack.queries import references
from tasktrack.queries.filter_more import FieldFilter
from tasktrack.queries.project_children import ChildKind, Children
from tasktrack.queries.project_contents import TagFilter
from tasktrack.queries.projects import ProjectFilter
from tasktrack.queries.shaping import clearml_json, only_fields

API_VERSION = "2.23"


class GetProjectsEx(ProjectFilter, frozen=True, kw_only=True):
    only_fields: list[str] | None = None
    include_stats: bool = False
    include_dataset_stats: bool = False
    check_own_contents: bool = False
    active_users: list[str] | None = None
    allow_public: bool = True
    # Only the projects holding such children (and their ancestors); stats count only them.
    children_type: ChildKind | None = None
    children_tags: list[str | None] | None = None
    children_tags_filter: FieldFilter | None = None
    # The projects page's scroll (tasktrack/http/scrolling.py).
    scroll_id: str | UnsetType | None = UNSET
    size: int | None = None
    refresh_scroll: bool = False


class ProjectId(msgspec.Struct, frozen=True, kw_only=True):
    project: str


class TagsRequest(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str] | None = None
    include_system: bool = False
    filter: TagFilter | None = None


class ParentsRequest(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str] | None = None
    tasks_state: Literal["active", "archived"] | None = None
    task_name: str | None = None
    include_subprojects: bool = True


class HyperParamsRequest(msgspec.Struct, frozen=True, kw_only=True):
    project: str | None = None
    include_subprojects: bool = True
    page: int = 0
    page_size: int = 500


class HyperParamValuesRequest(msgspec.Struct, frozen=True, kw_only=True):
    section: str
    name: str
    projects: list[str] | None = None
    include_subprojects: bool = True
    allow_public: bool = True
    pattern: str | None = None
    page: int = 0
    page_size: int = 500


class MetricVariantsRequest(msgspec.Struct, frozen=True, kw_only=True):
    project: str | None = None
    ids: list[str] | None = None
    include_subprojects: bool = True
    model_metrics: bool = False


class UserIds(msgspec.Struct, frozen=True, kw_only=True):
    id: list[str] | None = None


class UsersEx(UserIds, frozen=True, kw_only=True):
    # Only users who created these projects, or tasks or models in them ([]: any project).
    active_in_projects: list[str] | None = None


class UserNamesRequest(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str] | None = None
    include_subprojects: bool = True
    entity: Literal["task", "model"] = "task"


class UserId(msgspec.Struct, frozen=True, kw_only=True):
    user: str


class Empty(msgspec.Struct, frozen=True):
    pass


def _parse_get_all_ex(body: dict[str, Any]) -> GetProjectsEx:
    # ClearML takes one id as a plain string too (its reports test sends `id=<project>`).
    if isinstance(body.get("id"), str):
        body = {**body, "id": [body["id"]]}
    return msgspec.convert(body, GetProjectsEx)


def _get_all_ex(call: Call, body: GetProjectsEx) -> Any:
    # ClearML's formats (datetimes with +00:00: the web UI appends it to what it parses).
    scroll: dict[str, str] = {}
    if scrolling.scrolls(body):
        # The scroll moves over the listing's rows: the children and active_users filters
        # below then keep some of each page, as ClearML's joins would not.
        page, scroll["scroll_id"] = call.client.query_projects_scroll(
            body, scrolling.scroll_id(body), lambda at: scrolling.window(body, at)
        )
    else:
        page = call.client.query_projects(body)
    found = [clearml_json(p) for p in page]
    children = None
    selected: set[str] | None = None
    if body.children_type is not None:
        children = Children(
            kind=body.children_type, tags=body.children_tags, tags_filter=body.children_tags_filter
        )
        selected = call.client.projects_with_children(children, body.active_users)
        found = [p for p in found if p["id"] in selected]
    ids = [p["id"] for p in found]
    # What the options add is answered whatever only_fields names, as ClearML does.
    added: list[str] = []
    parents = call.client.project_parents([p["parent"] for p in found if p.get("parent")])
    for p in found:
        if p.get("parent"):
            p["parent"] = parents.get(p["parent"], {"id": p["parent"]})
    if ids and body.active_users:
        stats, _ = call.client.project_stats(ids, body.active_users)
        keep = {i for i in ids if stats[i]["active"]["total_tasks"]}
        found = [p for p in found if p["id"] in keep]
        ids = [p["id"] for p in found]
    if ids and body.check_own_contents:
        own = call.client.project_own_contents(ids, body.active_users, children)
        for p in found:
            p.update(own[p["id"]])
            added.extend(own[p["id"]])
    if ids and body.include_stats:
        stats, subs = call.client.project_stats(
            ids,
            body.active_users,
            children=children,
            search_hidden=body.search_hidden,
            allowed=selected,
        )
        for p in found:
            p["stats"] = stats[p["id"]]
            p["sub_projects"] = subs[p["id"]]
        added += ["stats", "sub_projects"]
    if ids and body.include_dataset_stats:
        datasets = call.client.project_dataset_stats(ids, body.active_users)
        for p in found:
            p["dataset_stats"] = datasets.get(p["id"])
        added.append("dataset_stats")
    if body.only_fields:
        included = any(not f.startswith("-") for f in body.only_fields)
        fields = body.only_fields + sorted(set(added)) if included else body.only_fields
        found = [only_fields(p, fields) for p in found]
    return {"projects": references.company_objects(found), **scroll}


def _task_tags(call: Call, body: TagsRequest) -> Any:
    return call.client.project_tags("tasks", body.projects, body.include_system, body.filter)


def _model_tags(call: Call, body: TagsRequest) -> Any:
    return call.client.project_tags("models", body.projects, body.include_system, body.filter)


def _hyper_parameters(call: Call, body: HyperParamsRequest) -> Any:
    return call.client.project_hyper_parameters(
        body.project,
        include_subprojects=body.include_subprojects,
        page=body.page,
        page_size=body.page_size,
    )


def _hyperparam_values(call: Call, body: HyperParamValuesRequest) -> Any:
    return call.client.project_hyperparam_values(
        body.projects,
        body.section,
        body.name,
        include_subprojects=body.include_subprojects,
        pattern=body.pattern,
        page=body.page,
        page_size=body.page_size,
    )


def _metric_variants(call: Call, body: MetricVariantsRequest) -> Any:
    if body.model_metrics:
        return {"metrics": []}  # models report no metrics here yet (issue 18's events)
    found = call.client.project_metric_variants(
        body.project, task_ids=body.ids, include_subprojects=body.include_subprojects
    )
    return {"metrics": found}


def _project_tags(call: Call, body: TagsRequest) -> Any:
    return call.client.project_tags("projects", body.projects, body.include_system, body.filter)


def _task_parents(call: Call, body: ParentsRequest) -> Any:
    parents = call.client.task_parents(
        project_ids=body.projects,
        state=body.tasks_state,
        task_name=body.task_name,
        include_subprojects=body.include_subprojects,
    )
    return {"parents": parents}


def _validate_delete(call: Call, body: ProjectId) -> Any:
    return call.client.validate_project_delete(body.project)


def _current_user(call: Call, body: Empty) -> Any:
    return {"user": call.client.current_user(), "getting_started": {}, "settings": {}}


def _users(call: Call, body: UserIds) -> Any:
    return {"users": call.client.get_users(body.id)}


def _users_ex(call: Call, body: UsersEx) -> Any:
    if body.active_in_projects is None:
        return {"users": call.client.get_users(body.id)}
    return {"users": call.client.active_users(body.active_in_projects, body.id)}


def _user_names(call: Call, body: UserNamesRequest) -> Any:
    users = call.client.project_user_names(
        body.entity, body.projects, include_subprojects=body.include_subprojects
    )
    return {"users": users}


def _user(call: Call, body: UserId) -> Any:
    return {"user": call.client.get_user(body.user)}


def _server_info(call: Call, body: Empty) -> Any:
    return {
        "version": version("tasktrack"),
        "build": "",
        "commit": "",
        "api_version": API_VERSION,
        "server": "tasktrack",
    }


def _report_stats(call: Call, body: Empty) -> Any:
    # tasktrack reports no usage statistics anywhere: the option is always off.
    return {"enabled": False, "supported": False}


ENDPOINTS = [
    Spec(
        name="projects.get_all_ex",
        request=GetProjectsEx,
        run=_get_all_ex,
        parse=_parse_get_all_ex,
        summary="Projects with their parent, and optionally stats, sub projects, own contents",
    ),
    Spec(
        name="projects.get_task_tags",
        request=TagsRequest,
        run=_task_tags,
        summary="Tags of the tasks in (and below) projects",
    ),
    Spec(
        name="projects.get_model_tags",
        request=TagsRequest,
        run=_model_tags,
        summary="Tags of the models in (and below) projects",
    ),
    Spec(
        name="projects.get_hyper_parameters",
        request=HyperParamsRequest,
        run=_hyper_parameters,
        summary="The hyperparameter names (section, name) of the tasks in a project",
    ),
    Spec(
        name="projects.get_hyperparam_values",
        request=HyperParamValuesRequest,
        run=_hyperparam_values,
        summary="The distinct values of one hyperparameter among the tasks of projects",
    ),
    Spec(
        name="projects.get_unique_metric_variants",
        request=MetricVariantsRequest,
        run=_metric_variants,
        summary="The metric/variant pairs the tasks of a project (or the given tasks) report",
    ),
    Spec(
        name="projects.get_project_tags",
        request=TagsRequest,
        run=_project_tags,
        summary="The projects' own tags",
    ),
    Spec(
        name="projects.get_task_parents",
        request=ParentsRequest,
        run=_task_parents,
        summary="The parents of the tasks in projects, by name",
    ),
    Spec(
        name="projects.validate_delete",
        request=ProjectId,
        run=_validate_delete,
        summary="What deleting a project would meet",
    ),
    Spec(
        name="users.get_current_user",
        request=Empty,
        run=_current_user,
        summary="The caller (from its credential)",
    ),
    Spec(name="users.get_all", request=UserIds, run=_users, summary="The company's users"),
    Spec(
        name="users.get_all_ex",
        request=UsersEx,
        run=_users_ex,
        summary="The company's users (active_in_projects: who created something there)",
    ),
    Spec(
        name="projects.get_user_names",
        request=UserNamesRequest,
        run=_user_names,
        summary="Who created the tasks (or models) of projects: {id, name} by name",
    ),
    Spec(name="users.get_by_id", request=UserId, run=_user, summary="One of the company's users"),
    Spec(name="server.info", request=Empty, run=_server_info, summary="The server's version"),
    Spec(
        name="server.report_stats_option",
        request=Empty,
        run=_report_stats,
        summary="Usage statistics reporting (always off)",
    ),
]
