"""Every order tasktrack takes about workers besides the heartbeat (commands.ReportWorkerStatus):
one frozen Struct per command, ClearML's field names, each naming its endpoint."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from tasktrack.domain.commands import Command
from tasktrack.domain.limits import Key


class RegisterWorker(Command, frozen=True, kw_only=True):
    endpoint = "workers.register"
    summary = "A worker comes up and listens to queues (ids) for `timeout` seconds"

    worker: Key
    # ClearML's default (services.workers.default_worker_timeout_sec); 0 means the default.
    timeout: Annotated[int, msgspec.Meta(le=2_147_483_647)] | None = None
    queues: list[str] | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    # The caller's address, set by the HTTP endpoint (whatever the body says), as ClearML's ip.
    ip: str | None = None


class UnregisterWorker(Command, frozen=True, kw_only=True):
    endpoint = "workers.unregister"
    summary = "A worker goes away (an unknown worker is not an error, as ClearML's default)"

    worker: Key
    queues: list[str] | UnsetType | None = UNSET  # the agent sends them; not used


class NoteSilentWorkers(Command, frozen=True, kw_only=True):
    """Record, once each, the caller's company's workers whose timeout passed without a report.

    Not an endpoint: the Client runs it before listing or counting workers.
    """


def declared() -> list[type[Command]]:
    """Every worker command that names an endpoint (the registry tests cross-check them)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]
