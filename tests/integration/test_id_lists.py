"""Commands on a list of ids: an empty list is refused and writes nothing (ClearML's batch, move
and make_public requests: 400/12), and the service projects every event a handler appended,
whatever path the handler took."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain import model_commands as mc
from tasktrack.domain.errors import InvalidRequest
from tasktrack.service import core
from tasktrack.service.uow import UnitOfWork

WITH_IDS = sorted(
    (
        kind
        for kind in [*cmd.declared(), *mc.declared()]
        if "ids" in {f.name for f in msgspec.structs.fields(kind)}
    ),
    key=lambda kind: kind.endpoint,
)

# The other fields each command needs to get as far as its ids (a move needs a destination,
# an update of tags a tag), so that only the empty list is wrong.
NEEDS: dict[str, dict[str, Any]] = {
    "tasks.move": {"project_name": "moved/into nothing"},
    "models.move": {"project_name": "moved/into nothing"},
    "tasks.update_tags": {"add_tags": ["a"]},
    "models.update_tags": {"add_tags": ["a"]},
}


def _log_length(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_every_command_on_ids_is_found() -> None:
    endpoints = {kind.endpoint for kind in WITH_IDS}
    # The ones ClearML's batch, move and make_public requests cover, tasks' and models'.
    assert {"tasks.move", "models.move", "tasks.archive_many", "models.delete_many"} <= endpoints
    assert {"tasks.make_public", "projects.make_private", "models.update_tags"} <= endpoints
    assert len(WITH_IDS) >= 20


@pytest.mark.parametrize("kind", WITH_IDS, ids=lambda kind: kind.endpoint)
def test_an_empty_list_of_ids_is_refused_and_writes_nothing(
    client: Client, engine: Engine, kind: type[cmd.Command]
) -> None:
    before = _log_length(engine)
    with pytest.raises(InvalidRequest, match=r"Validation error.*length >= 1.*\$\.ids"):
        client._do(kind, {"ids": [], **NEEDS.get(kind.endpoint, {})})
    assert _log_length(engine) == before
    if kind.endpoint.endswith(".move"):
        assert "moved" not in {p.name for p in client.get_projects()}


def test_the_service_projects_what_a_handler_left_unprojected(
    client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler that appends and returns without `uow.project()`: the project's row is
    written all the same, in the command's transaction."""
    made = uuid.uuid4().hex

    def forgetful(uow: UnitOfWork, c: cmd.CreateProject) -> dict[str, Any]:
        uow.lock([made])
        at = uow.now([made])
        created = ev.ProjectCreated(
            at=at,
            by=uow.metadata.user,
            project_id=made,
            company=uow.metadata.company,
            name=c.name,
        )
        uow.append(made, [created], at)
        return {"id": made}

    monkeypatch.setitem(core.SPECIAL, cmd.CreateProject, forgetful)
    assert client.create_project(name="left unprojected") == {"id": made}
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT name FROM projects WHERE id = :i"), {"i": made}
        ).scalar_one_or_none()
    assert row == "left unprojected"
