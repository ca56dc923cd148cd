"""The reports service's endpoints, declared as the tasks' are: every report command by its
`endpoint`, get_all_ex (tasks.get_all_ex scoped to reports) and get_tags."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, structs

from tasktrack.domain import report_commands as rc
from tasktrack.domain.commands import Command, given_fields
from tasktrack.http import report_data, task_endpoints
from tasktrack.http.calls import Call, Spec


class Empty(msgspec.Struct, frozen=True):
    pass


def _command(call: Call, command: Command) -> Any:
    return call.client.execute(command, request_id=call.request_id)


def _parse_command(kind: type[Command]) -> Any:
    def parse(body: dict[str, Any]) -> Any:
        return msgspec.convert(given_fields(kind, body), kind)

    return parse


def _parse_get_all(body: dict[str, Any]) -> task_endpoints.GetAllEx:
    # As ClearML: reports only, hidden ones included (every report is hidden).
    return task_endpoints.parse_get_all_ex({**body, "type": ["report"], "search_hidden": True})


def _get_all_ex(call: Call, body: task_endpoints.GetAllEx) -> Any:
    if body.project is not UNSET and body.project is not None:
        # A project's reports are in its .reports project (one level down, as ClearML).
        wanted = [body.project] if isinstance(body.project, str) else body.project
        found = call.client.reports_projects(wanted)
        if not found:
            return {"tasks": []}
        ids: list[str | None] = list(found)
        body = structs.replace(body, project=ids)
    return task_endpoints.get_all_ex(call, body)


def _get_tags(call: Call, body: Empty) -> Any:
    return {"tags": call.client.report_tags()}


def endpoints() -> list[Spec]:
    specs = [
        Spec(
            name=str(kind.endpoint),
            request=kind,
            run=_command,
            summary=kind.summary,
            parse=_parse_command(kind) if kind.nulls_absent else None,
        )
        for kind in rc.declared()
    ]
    return [
        *specs,
        Spec(
            name="reports.get_all_ex",
            request=task_endpoints.GetAllEx,
            run=_get_all_ex,
            parse=_parse_get_all,
            summary="Reports by tasks.get_all_ex's filters (a project means its .reports)",
        ),
        Spec(
            name="reports.get_tags",
            request=Empty,
            run=_get_tags,
            summary="The tags of the company's reports",
        ),
        *report_data.ENDPOINTS,
    ]
