"""The projects.create handler: a unique name per company, guarded by a lock on the name."""

from __future__ import annotations

from tasktrack.domain import commands as cmd
from tasktrack.domain import projects
from tasktrack.domain.context import Context
from tasktrack.service.handlers import new_id
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import commandreads


def on_create_project(uow: UnitOfWork, c: cmd.CreateProject) -> Result:
    name = projects.clean_project_name(c.name)
    project_id = new_id()
    # Two creates of one name wait for each other here, so the second sees the first's row.
    uow.lock([f"project-name:{uow.metadata.company}:{name}", project_id])
    existing = commandreads.project_named(uow.conn, uow.metadata.company, name)
    now = uow.now()
    ctx = Context(now=now, user=uow.metadata.user, company=uow.metadata.company)
    events = projects.create(c, ctx, project_id, existing)
    uow.append(project_id, events, now)
    uow.project()
    return {"id": project_id}
