"""The tasks service's listing and reading endpoints beyond get_all: get_all_ex (ClearML's
listing for the web UI and its test suite), with scroll_id paging and resolved references."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.http import scrolling
from tasktrack.http.calls import Call, Spec
from tasktrack.queries import model_refs, references
from tasktrack.queries.filter_request import LIST_FIELDS, GetAllRequest, request_from
from tasktrack.queries.models import MAX_PAGE_SIZE, ModelFilter
from tasktrack.queries.projects import ProjectFilter
from tasktrack.queries.queues import QueueFilter
from tasktrack.queries.shaping import check_paths, clearml_json, shape


class GetAllEx(GetAllRequest, frozen=True, kw_only=True):
    """tasks.get_all_ex: get_all's filters, plus scroll paging (`scroll_id`, `size`,
    `refresh_scroll`) and `only_fields` references (`project.name`)."""

    only_fields: list[str] | None = None
    scroll_id: str | UnsetType | None = UNSET
    size: int | None = None
    refresh_scroll: bool = False
    allow_public: bool = True  # no public tasks of other companies here


def parse_get_all_ex(body: dict[str, Any]) -> GetAllEx:
    # ClearML's web UI sends `"user": null` (and other null list filters) for "no filter", as
    # ClearML's server reads them; tasks.get_all keeps SEMANTICS' "null: missing or empty"
    # (docs/semantics.md), the UI's listing reads them as the UI means them.
    body = {k: v for k, v in body.items() if not (v is None and k in LIST_FIELDS)}
    request = request_from(body, GetAllEx)
    if request.only_fields:
        check_paths(request.only_fields)
    return request


def get_all_ex(call: Call, body: GetAllEx) -> Any:
    answer: dict[str, Any] = {}
    if scrolling.scrolls(body):
        tasks, answer["scroll_id"] = call.client.query_scroll(
            body, scrolling.scroll_id(body), lambda at: scrolling.window(body, at)
        )
    else:
        tasks = call.client.query_all(body)
    asked = body.only_fields or []
    queue_paths = references.queue_paths(asked)
    model_paths = model_refs.asked(asked)
    fields = [f for f in model_refs.plain(asked) if not f.startswith(references.QUEUE_PREFIX)]
    if asked and not fields:
        fields = ["id"]
    joins = bool(references.referenced(fields) or queue_paths or model_paths)
    docs = [clearml_json(t) for t in tasks] if joins or not fields else []
    if references.referenced(fields):
        ids = references.project_ids(docs)
        found = (
            call.client.query_projects(
                ProjectFilter(id=ids, search_hidden=True, page_size=max(len(ids), 1))
            )
            if ids
            else []
        )
        projects = {p.id: clearml_json(p) for p in found}
        resolved = references.resolve(docs, fields, projects)
    else:
        resolved = shape(tasks, fields) if fields else docs
    if queue_paths:
        ids = references.queue_ids(docs)
        queues = (
            {
                q.id: clearml_json(q)
                for q in call.client.query_queues(QueueFilter(id=ids, search_hidden=True))
            }
            if ids
            else {}
        )
        resolved = references.with_queues(resolved, docs, queue_paths, queues)
    if model_paths:
        resolved = _with_models(call, resolved, docs, model_paths)
    expanded = references.expand_queue(references.expand(resolved, references.TASK_IDS))
    answer["tasks"] = references.company_objects(expanded)
    return answer


def _with_models(
    call: Call,
    shaped: list[dict[str, Any]],
    docs: list[dict[str, Any]],
    paths: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """The page's model lists with their models (and those models' tasks) joined."""
    ids = model_refs.model_ids(docs, paths)
    models: dict[str, dict[str, Any]] = {}
    # In pages of the model listing's largest: a page of tasks may refer to more models.
    for at in range(0, len(ids), MAX_PAGE_SIZE):
        batch = ids[at : at + MAX_PAGE_SIZE]
        for m in call.client.query_models(ModelFilter(id=batch, page_size=len(batch))):
            models[m.id] = clearml_json(m)
    task_ids = model_refs.task_ids(models, paths)
    tasks: dict[str, dict[str, Any]] = {}
    for at in range(0, len(task_ids), MAX_PAGE_SIZE):
        made_by = {"id": task_ids[at : at + MAX_PAGE_SIZE], "page_size": MAX_PAGE_SIZE}
        for t in call.client.query_all(request_from(made_by, GetAllRequest)):
            tasks[t.id] = clearml_json(t)
    return model_refs.with_models(shaped, docs, paths, models, tasks)


ENDPOINTS = [
    Spec(
        name="tasks.get_all_ex",
        request=GetAllEx,
        run=get_all_ex,
        parse=parse_get_all_ex,
        summary="Tasks by filters, with `filters`, `_any_`/`_all_`, scroll_id paging and "
        "project references in only_fields",
    ),
    Spec(
        name="tasks.get_by_id_ex",
        request=GetAllEx,
        run=get_all_ex,
        parse=parse_get_all_ex,
        summary="Tasks by id, answered as get_all_ex answers them (references, only_fields)",
    ),
]


# --- a task's parameters as lists (what the SDK reads: Task.get_user_properties, ...) --------


class TasksParams(msgspec.Struct, frozen=True, kw_only=True):
    tasks: list[str]


class TasksConfigurations(TasksParams, frozen=True, kw_only=True):
    names: list[str] | None = None


class TasksConfigurationNames(TasksParams, frozen=True, kw_only=True):
    skip_empty: bool = True


def _get_hyper_params(call: Call, body: TasksParams) -> Any:
    return {"params": call.client.get_hyper_params(body.tasks)}


def _get_configurations(call: Call, body: TasksConfigurations) -> Any:
    return {"configurations": call.client.get_configurations(body.tasks, body.names)}


def _get_configuration_names(call: Call, body: TasksConfigurationNames) -> Any:
    found = call.client.get_configuration_names(body.tasks, skip_empty=body.skip_empty)
    return {"configurations": found}


ENDPOINTS += [
    Spec(
        name="tasks.get_hyper_params",
        request=TasksParams,
        run=_get_hyper_params,
        summary="The tasks' hyperparameters, each as a list (by section, then name)",
    ),
    Spec(
        name="tasks.get_configurations",
        request=TasksConfigurations,
        run=_get_configurations,
        summary="The tasks' configuration items (only the named ones if `names` is given)",
    ),
    Spec(
        name="tasks.get_configuration_names",
        request=TasksConfigurationNames,
        run=_get_configuration_names,
        summary="The names of the tasks' configuration items (non-empty ones unless "
        "skip_empty is false)",
    ),
]
