"""The serving service's handlers: a container's facts go to its stream, its status reports
to its row and its chart series (docs/architecture.md, "Serving containers").

Each handler locks the container's stream before reading its row, so two calls about one
container never interleave; it reads the stream's head only when there is a fact to append.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasktrack.domain import serving as rules
from tasktrack.domain import serving_commands as sc
from tasktrack.domain.commands import Command
from tasktrack.domain.context import Context
from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.serving import ContainerRow, stream_of
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork
from tasktrack.store import servingrows


def _open(uow: UnitOfWork, container: str) -> tuple[str, ContainerRow | None]:
    company = uow.metadata.company
    stream = stream_of(company, container)
    uow.lock([stream])
    return stream, servingrows.load(uow.conn, company, [container]).get(container)


def _context(uow: UnitOfWork, streams: list[str]) -> Context:
    m = uow.metadata
    return Context(now=uow.now(streams), user=m.user, company=m.company)


def _write(
    uow: UnitOfWork, stream: str, c: sc.ContainerFields, row: ContainerRow | None
) -> tuple[ContainerRow, Context]:
    ctx = _context(uow, [])
    new, events = rules.report(row, c, ctx)
    if events:
        uow.load_heads([stream])
        ctx = _context(uow, [stream])
        new, events = rules.report(row, c, ctx)
        uow.append(stream, events, ctx.now)
        uow.project()
    servingrows.save(uow.conn, new)
    return new, ctx


def on_register(uow: UnitOfWork, c: sc.RegisterContainer) -> Result:
    if c.timeout <= 0:
        raise InvalidRequest(f"Validation error: timeout must be positive: {c.timeout}")
    stream, row = _open(uow, c.container_id)
    _write(uow, stream, c, row)
    return {}


def on_report(uow: UnitOfWork, c: sc.ReportContainerStatus) -> Result:
    if not c.endpoint_url:
        raise InvalidRequest("Validation error: Missing required field 'endpoint_url'")
    stream, row = _open(uow, c.container_id)
    new, ctx = _write(uow, stream, c, row)
    servingrows.add_report(uow.conn, new, c.endpoint_url, ctx.now, rules.sample(new.status))
    return {}


def on_unregister(uow: UnitOfWork, c: sc.UnregisterContainer) -> Result:
    stream, row = _open(uow, c.container_id)
    events = rules.unregister(row, c.container_id, _context(uow, []))
    if events:
        uow.load_heads([stream])
        ctx = _context(uow, [stream])
        events = rules.unregister(row, c.container_id, ctx)
        uow.append(stream, events, ctx.now)
        uow.project()
        servingrows.delete(uow.conn, uow.metadata.company, c.container_id)
    return {}


HANDLERS: dict[type[Command], Callable[[UnitOfWork, Any], Result]] = {
    sc.RegisterContainer: on_register,
    sc.ReportContainerStatus: on_report,
    sc.UnregisterContainer: on_unregister,
}
