"""The file server's handlers: append FileStored / FileDeleted to the company's files stream.

The stream is locked first (uploads and deletes of one company are recorded one at a time,
so versions never clash), then its head is read from the log (no read model keeps one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasktrack.domain import events as ev
from tasktrack.domain import file_commands as fc
from tasktrack.domain.files import normal, stream_of
from tasktrack.service.results import Result
from tasktrack.service.uow import UnitOfWork


def _append(uow: UnitOfWork, events: Callable[[Any], list[ev.AnyEvent]]) -> None:
    stream = stream_of(uow.metadata.company)
    uow.lock([stream])
    uow.load_heads([stream])
    now = uow.now([stream])
    uow.append(stream, events(now), now)
    uow.project()


def on_stored(uow: UnitOfWork, c: fc.RecordFileStored) -> Result:
    user = uow.metadata.user
    path = normal(c.path)
    _append(
        uow, lambda now: [ev.FileStored(at=now, by=user, path=path, size=c.size, sha256=c.sha256)]
    )
    return {"path": path}


def on_deleted(uow: UnitOfWork, c: fc.RecordFilesDeleted) -> Result:
    user = uow.metadata.user
    paths = [normal(p) for p in c.paths]
    _append(uow, lambda now: [ev.FileDeleted(at=now, by=user, path=p) for p in paths])
    return {"deleted": len(paths)}


HANDLERS: dict[type[Any], Callable[[UnitOfWork, Any], Result]] = {
    fc.RecordFileStored: on_stored,
    fc.RecordFilesDeleted: on_deleted,
}
