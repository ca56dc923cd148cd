"""organization.*: the company's tags, its entity counts and its users (read models only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from sqlalchemy import Connection

from tasktrack.domain.errors import BadFilter, InvalidRequest
from tasktrack.queries import models as model_queries
from tasktrack.queries import projects as project_queries
from tasktrack.queries import tasks as task_queries
from tasktrack.queries.filter_request import GetAllRequest, request_from
from tasktrack.queries.project_contents import TagFilter, Tags, tags
from tasktrack.queries.project_stats import stats
from tasktrack.queries.users import company_users


def company_tags(conn: Connection, company: str, include_system: bool, f: TagFilter | None) -> Tags:
    """The tags (and system tags) of the company's tasks and models, merged and sorted."""
    found = [
        tags(conn, company, of, None, include_system=include_system, f=f)
        for of in ("tasks", "models")
    ]
    return Tags(
        tags=sorted({t for one in found for t in one.tags}),
        system_tags=sorted({t for one in found for t in one.system_tags}),
    )


class CountRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What organization.get_entities_count counts: one filter dict per kind of entity."""

    projects: dict[str, Any] | None = None
    tasks: dict[str, Any] | None = None
    models: dict[str, Any] | None = None
    pipelines: dict[str, Any] | None = None
    pipeline_runs: dict[str, Any] | None = None
    datasets: dict[str, Any] | None = None
    dataset_versions: dict[str, Any] | None = None
    reports: dict[str, Any] | None = None
    search_hidden: bool = False
    active_users: list[str] | None = None
    allow_public: bool = True
    # Counting stops at `limit` (none, or 0: count everything); a negative one is refused.
    limit: Annotated[int, msgspec.Meta(ge=0)] | None = None


# The kind of entity each field counts, and the task type the task-backed ones imply.
_KIND = {
    "projects": "project",
    "tasks": "task",
    "models": "model",
    "pipelines": "project",
    "pipeline_runs": "task",
    "datasets": "project",
    "dataset_versions": "task",
    "reports": "task",
}
_TASK_TYPE = {
    "reports": "report",
    "pipeline_runs": "controller",
    "dataset_versions": "data_processing",
}
# Only these two hide hidden entities unless the request's search_hidden says otherwise.
_HIDING = ("projects", "tasks")


def _count_one(
    conn: Connection, company: str, field: str, data: dict[str, Any], r: CountRequest
) -> int:
    """One COUNT over the kind's own listing statement: the same filter its get_all reads."""
    kind = _KIND[field]
    data = {k: v for k, v in data.items() if k not in ("page", "page_size", "only_fields")}
    if field in _TASK_TYPE:
        data["type"] = [_TASK_TYPE[field]]
        data["include_subprojects"] = True
    if kind != "model":
        data["search_hidden"] = r.search_hidden if field in _HIDING else True
    if kind == "project":
        pf = msgspec.convert(data, project_queries.ProjectFilter)
        if r.active_users:
            ids = project_queries.matching_ids(conn, company, pf)
            if not ids:
                return 0
            by_project, _ = stats(conn, company, ids, r.active_users)
            n = sum(1 for i in ids if by_project[i]["active"]["total_tasks"])
            return min(n, r.limit) if r.limit else n
        return project_queries.count(conn, company, pf, r.limit or None)
    if r.active_users and not data.get("user"):
        data["user"] = list(r.active_users)
    if kind == "model":
        mf = msgspec.convert({**data, "allow_public": r.allow_public}, model_queries.ModelFilter)
        return model_queries.count(conn, company, mf, r.limit or None)
    return task_queries.count(conn, company, request_from(data, GetAllRequest), r.limit or None)


def entities_count(conn: Connection, company: str, r: CountRequest) -> dict[str, Any]:
    """Per field asked, how many of the company's entities its filter matches; a filter that
    cannot be read is reported under `errors` (ClearML's 2.34 answer) instead."""
    answer: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in _KIND:
        data: Mapping[str, Any] | None = getattr(r, field)
        if data is None:
            continue
        try:
            # A savepoint per field: a filter PostgreSQL refuses aborts only its own count,
            # and the read's transaction (with its statement timeout) goes on for the next.
            with conn.begin_nested():
                answer[field] = _count_one(conn, company, field, dict(data), r)
        except (msgspec.ValidationError, BadFilter, InvalidRequest) as exc:
            errors[field] = str(exc)
    if errors:
        answer["errors"] = errors
    return answer


def user_companies(conn: Connection, company: str) -> dict[str, Any]:
    """The caller's company (it is its name too) with its users as owners, by name."""
    owners = [
        {"id": u["id"], "name": u["name"], "avatar": None}
        for u in sorted(company_users(conn, company), key=lambda u: u["name"])
    ]
    return {
        "companies": [{"id": company, "name": company, "allocated": len(owners), "owners": owners}]
    }
