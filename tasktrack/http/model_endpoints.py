"""The models service's endpoints, declared as the tasks' are: every model command by its
`endpoint`, and the queries with their request Structs."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain import model_commands as mc
from tasktrack.domain.commands import Command
from tasktrack.domain.errors import InvalidRequest
from tasktrack.http import scrolling
from tasktrack.http.calls import Call, Spec
from tasktrack.queries import references
from tasktrack.queries.filter_request import GetAllRequest, request_from
from tasktrack.queries.models import MAX_PAGE_SIZE, ModelFilter
from tasktrack.queries.projects import ProjectFilter
from tasktrack.queries.shaping import clearml_json, only_fields, shape


class ModelId(msgspec.Struct, frozen=True, kw_only=True):
    model: str


class TaskId(msgspec.Struct, frozen=True, kw_only=True):
    task: str


class GetModels(ModelFilter, frozen=True, kw_only=True):
    only_fields: list[str] | None = None
    # models.get_all_ex's scroll (tasktrack/http/scrolling.py); get_all ignores it.
    scroll_id: str | UnsetType | None = UNSET
    size: int | None = None
    refresh_scroll: bool = False


class GetFrameworks(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[str] | None = None


class MetadataKeysRequest(msgspec.Struct, frozen=True, kw_only=True):
    project: str | None = None
    include_subprojects: bool = True
    page: int = 0
    page_size: int = 500


class MetadataValuesRequest(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    projects: list[str] | None = None
    include_subprojects: bool = True
    allow_public: bool = True
    page: int = 0
    page_size: int = 500


def _command(call: Call, command: Command) -> Any:
    return call.client.execute(command, request_id=call.request_id)


def _get_by_id(call: Call, body: ModelId) -> Any:
    return {"model": call.client.get_model(body.model)}


def _get_by_task_id(call: Call, body: TaskId) -> Any:
    return {"model": call.client.get_model_by_task(body.task)}


def _get_all(call: Call, body: GetModels) -> Any:
    found = call.client.query_models(body)
    if body.only_fields:
        return {"models": shape(found, body.only_fields)}
    return {"models": found}


def get_all_ex(call: Call, body: GetModels) -> Any:
    """get_all, with the references held as ids answered as `{id}` and those `only_fields`
    names a path in (`project.name`, `task.name`, `user.name`) joined, as ClearML's listing;
    scroll_id paging (one id for the scroll's life, as tasks.get_all_ex's)."""
    answer: dict[str, Any] = {}
    if scrolling.scrolls(body):
        found, answer["scroll_id"] = call.client.query_models_scroll(
            body, scrolling.scroll_id(body), lambda at: scrolling.window(body, at)
        )
    else:
        found = call.client.query_models(body)
    docs = [clearml_json(m) for m in found]
    fields = body.only_fields or []
    joined = _referenced(fields)
    plain = [f for f in fields if f.partition(".")[0] not in joined]
    shaped = [only_fields(d, plain or ["id"]) for d in docs] if fields else docs
    for out, doc in zip(shaped, docs, strict=True):
        out.update({root: {"id": doc[root]} for root in joined if doc.get(root)})
    references.expand(shaped, references.MODEL_IDS)
    if joined:
        _join(call, shaped, joined)
    answer["models"] = references.company_objects(shaped)
    return answer


def _referenced(fields: list[str]) -> dict[str, list[str]]:
    """Reference field -> the paths asked inside it (`task.name` -> task: [name])."""
    out: dict[str, list[str]] = {}
    for f in fields:
        root, dot, rest = f.partition(".")
        if dot and rest and root in ("project", "task", "user"):
            out.setdefault(root, []).append(rest)
    return out


def _join(call: Call, models: list[dict[str, Any]], joined: dict[str, list[str]]) -> None:
    """The page's projects and tasks (and users: a user's name is its id) cut down to the
    paths asked, in place of their `{id}`; an unknown one (deleted) stays `{id}`."""
    ids = {r: sorted({m[r]["id"] for m in models if isinstance(m.get(r), dict)}) for r in joined}
    found: dict[str, dict[str, dict[str, Any]]] = {
        "user": {u: {"name": u} for u in ids.get("user", [])}
    }
    if ids.get("project"):
        wanted = ProjectFilter(id=ids["project"], search_hidden=True, page_size=MAX_PAGE_SIZE)
        found["project"] = {p.id: clearml_json(p) for p in call.client.query_projects(wanted)}
    if ids.get("task"):
        # In pages of the listing's largest: a page of models refers to at most that many.
        made_by = {"id": ids["task"], "page_size": MAX_PAGE_SIZE, "search_hidden": True}
        tasks = call.client.query_all(request_from(made_by, GetAllRequest))
        found["task"] = {t.id: clearml_json(t) for t in tasks}
    for m in models:
        for root, paths in joined.items():
            if isinstance(ref := m.get(root), dict):
                source = found.get(root, {}).get(ref["id"], {})
                m[root] = {**only_fields({**source, "id": ref["id"]}, paths), "id": ref["id"]}


# The list filters the web UI sends empty (or null) for "no filter" (`"id": []` with every
# models table request); models.get_all keeps "an empty list matches nothing".
_LIST_FILTERS = ("id", "project", "task", "framework", "uri", "user", "tags", "system_tags")


def parse_get_all_ex(body: dict[str, Any]) -> GetModels:
    body = {k: v for k, v in body.items() if not (k in _LIST_FILTERS and v in (None, []))}
    return msgspec.convert(body, GetModels)


def parse_get_by_id_ex(body: dict[str, Any]) -> GetModels:
    """models.get_by_id_ex: get_all_ex's body, `id` required (one id or a list), as ClearML."""
    ids = body.get("id")
    if not ids:
        raise InvalidRequest("Validation error: missing required field id", field="id")
    return parse_get_all_ex({**body, "id": [ids] if isinstance(ids, str) else ids})


def _get_frameworks(call: Call, body: GetFrameworks) -> Any:
    return {"frameworks": call.client.get_model_frameworks(body.projects)}


def _metadata_keys(call: Call, body: MetadataKeysRequest) -> Any:
    return call.client.model_metadata_keys(
        body.project,
        include_subprojects=body.include_subprojects,
        page=body.page,
        page_size=body.page_size,
    )


def _metadata_values(call: Call, body: MetadataValuesRequest) -> Any:
    return call.client.model_metadata_values(
        body.projects,
        body.key,
        include_subprojects=body.include_subprojects,
        allow_public=body.allow_public,
        page=body.page,
        page_size=body.page_size,
    )


def endpoints() -> list[Spec]:
    specs = [
        Spec(name=kind.endpoint, request=kind, run=_command, summary=kind.summary)
        for kind in mc.declared()
        if kind.endpoint is not None
    ]
    specs += [
        Spec(name="models.get_by_id", request=ModelId, run=_get_by_id, summary="A model"),
        Spec(
            name="models.get_by_task_id",
            request=TaskId,
            run=_get_by_task_id,
            summary="A task's (last) output model",
        ),
        Spec(name="models.get_all", request=GetModels, run=_get_all, summary="Models by filters"),
        Spec(
            name="models.get_all_ex",
            request=GetModels,
            run=get_all_ex,
            parse=parse_get_all_ex,
            summary="Models by filters (include_stats: labels_count), with scroll_id paging",
        ),
        Spec(
            name="models.get_by_id_ex",
            request=GetModels,
            run=get_all_ex,
            parse=parse_get_by_id_ex,
            summary="Models by id, answered as get_all_ex answers them (the web UI's details)",
        ),
        Spec(
            name="models.get_frameworks",
            request=GetFrameworks,
            run=_get_frameworks,
            summary="The frameworks of the models (in the given projects, if any)",
        ),
        Spec(
            name="projects.get_model_metadata_keys",
            request=MetadataKeysRequest,
            run=_metadata_keys,
            summary="The metadata keys of the models in a project (none: every project)",
        ),
        Spec(
            name="projects.get_model_metadata_values",
            request=MetadataValuesRequest,
            run=_metadata_values,
            summary="The distinct values of one metadata key among the models of projects",
        ),
    ]
    return specs
