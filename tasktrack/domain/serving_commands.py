"""Every order tasktrack takes about model-serving containers (serving.*): one frozen Struct
per command, with ClearML's field names so an HTTP body decodes straight into it."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain.commands import Command
from tasktrack.domain.limits import Key


class ReferenceItem(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    value: str


class ContainerFields(Command, frozen=True, kw_only=True):
    """What a container says about itself when it registers and with every status report."""

    container_id: Key
    endpoint_name: str
    model_name: str
    endpoint_url: str | None = None  # none yet while the model loads
    model_source: str | None = None
    model_version: str | None = None
    preprocess_artifact: str | None = None
    input_type: str | None = None
    input_size: int | str | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    reference: list[ReferenceItem] | None = None


class RegisterContainer(ContainerFields, frozen=True, kw_only=True):
    endpoint = "serving.register_container"
    summary = "Register a model-serving container (it expires `timeout` seconds after its last "
    "report)"

    timeout: int = msgspec.field(default=600)


class ReportContainerStatus(ContainerFields, frozen=True, kw_only=True):
    endpoint = "serving.container_status_report"
    summary = "A serving container's status report (a heartbeat: its row, not an event)"

    uptime_sec: int | None = None
    requests_num: int | None = None
    requests_min: float | None = None
    latency_ms: int | None = None
    machine_stats: dict[str, Any] | None = None


class UnregisterContainer(Command, frozen=True, kw_only=True):
    endpoint = "serving.unregister_container"
    summary = "Unregister a model-serving container"

    container_id: Key


def declared() -> list[type[Command]]:
    """Every serving command that names an endpoint (the registry tests cross-check them)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]
