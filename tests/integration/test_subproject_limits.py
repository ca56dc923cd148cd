"""include_subprojects against PostgreSQL: a project list that grows past the filter limit
once its sub projects are added is refused (400/16), never cut short silently."""

from __future__ import annotations

from tasktrack.api import Client
from tasktrack.domain.limits import MAX_FILTER_VALUES
from tasktrack.queries.filter_request import GetAllRequest, request_from
from tasktrack.queries.models import ModelFilter
from tests.integration.task_commands_support import expect_error, new_task


def test_more_sub_projects_than_a_filter_takes_is_400_16(client: Client) -> None:
    root = client.create_project(name="wide")["id"]
    for i in range(MAX_FILTER_VALUES):
        client.create_project(name=f"wide/p{i}")
    task = new_task(client, project=root)
    # Within the limit, the project itself is read as usual.
    direct = request_from({"project": [root]}, GetAllRequest)
    assert [t.id for t in client.query_all(direct)] == [task]
    wide = request_from({"project": [root], "include_subprojects": True}, GetAllRequest)
    refused = expect_error((400, 16), client.query_all, wide)
    assert "include_subprojects" in refused.message
    models = ModelFilter(project=[root], include_subprojects=True)
    expect_error((400, 16), client.query_models, models)
