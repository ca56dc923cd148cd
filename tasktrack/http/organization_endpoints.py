"""The organization.* endpoints: their request bodies and what they run (all queries)."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.http.calls import Call, Spec
from tasktrack.queries.organization import CountRequest
from tasktrack.queries.project_contents import TagFilter


class TagsRequest(msgspec.Struct, frozen=True, kw_only=True):
    include_system: bool = False
    filter: TagFilter | None = None


class UsagesRequest(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str]
    from_date: str
    to_date: str
    include_development: bool = False
    breakdown_keys: list[str] | None = None
    usage_fields: list[str] | None = None


class Empty(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


def _tags(call: Call, body: TagsRequest) -> Any:
    found = call.client.organization_tags(body.include_system, body.filter)
    if body.include_system:
        return found
    return {"tags": found.tags}  # system_tags only when asked, as ClearML


def _entities_count(call: Call, body: CountRequest) -> Any:
    return call.client.entities_count(body)


def _user_companies(call: Call, body: Empty) -> Any:
    return call.client.user_companies()


def _project_usages(call: Call, body: UsagesRequest) -> Any:
    return call.client.project_usages(
        body.projects,
        body.from_date,
        body.to_date,
        include_development=body.include_development,
        breakdown_keys=body.breakdown_keys,
        usage_fields=body.usage_fields,
    )


ENDPOINTS = [
    Spec(
        name="organization.get_tags",
        request=TagsRequest,
        run=_tags,
        summary="The tags (and system tags) of the company's tasks and models",
    ),
    Spec(
        name="organization.get_entities_count",
        request=CountRequest,
        run=_entities_count,
        summary="How many projects, tasks, models, pipelines, datasets, reports... match",
    ),
    Spec(
        name="organization.get_user_companies",
        request=Empty,
        run=_user_companies,
        summary="The caller's company and its users",
    ),
    Spec(
        name="organization.get_project_usages",
        request=UsagesRequest,
        run=_project_usages,
        summary="Running time of the tasks of projects per day, by project, queue and user",
    ),
]
