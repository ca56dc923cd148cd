"""The value objects inside a task (script, execution, output, models, params), as in the seed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

Status = Literal[
    "created",
    "queued",
    "in_progress",
    "stopped",
    "published",
    "publishing",
    "closed",
    "failed",
    "completed",
    "unknown",
]
STATUSES: tuple[Status, ...] = (
    "created",
    "queued",
    "in_progress",
    "stopped",
    "published",
    "publishing",
    "closed",
    "failed",
    "completed",
    "unknown",
)

TaskType = Literal[
    "training",
    "testing",
    "inference",
    "data_processing",
    "application",
    "monitor",
    "controller",
    "optimizer",
    "service",
    "qc",
    "custom",
    "report",  # a report (reports.create): a task of its own kind, as ClearML's
]

ArtifactMode = Literal["input", "output"]
ModelType = Literal["input", "output"]

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class Value(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of the nested objects: unset fields are absent, not null, when encoded."""


class Script(Value, frozen=True):
    binary: str | UnsetType = UNSET
    repository: str | UnsetType = UNSET
    tag: str | UnsetType = UNSET
    branch: str | UnsetType = UNSET
    version_num: str | UnsetType = UNSET
    entry_point: str | UnsetType = UNSET
    working_dir: str | UnsetType = UNSET
    requirements: dict[str, Any] | UnsetType = UNSET
    diff: str | UnsetType = UNSET


class Output(Value, frozen=True):
    destination: str | UnsetType = UNSET
    model: str | UnsetType = UNSET
    result: str | UnsetType = UNSET
    error: str | UnsetType = UNSET


class ArtifactTypeData(Value, frozen=True):
    preview: str | UnsetType = UNSET
    content_type: str | UnsetType = UNSET
    data_hash: str | UnsetType = UNSET


class Artifact(Value, frozen=True):
    key: str
    type: str
    mode: ArtifactMode = "output"
    uri: str | UnsetType = UNSET
    content_size: Int64 | UnsetType = UNSET
    hash: str | UnsetType = UNSET
    timestamp: Int64 | UnsetType = UNSET
    type_data: ArtifactTypeData | UnsetType = UNSET
    display_data: list[list[Any]] | UnsetType = UNSET


class ArtifactId(Value, frozen=True):
    key: str
    mode: ArtifactMode = "output"


class Execution(Value, frozen=True):
    queue: str | UnsetType = UNSET
    parameters: dict[str, Any] | UnsetType = UNSET
    model: str | UnsetType = UNSET
    model_desc: dict[str, Any] | UnsetType = UNSET
    model_labels: dict[str, int] | UnsetType = UNSET
    framework: str | UnsetType = UNSET
    docker_cmd: str | UnsetType = UNSET
    artifacts: list[Artifact] | UnsetType = UNSET


class ModelItem(Value, frozen=True):
    name: str
    model: str


class TaskModels(Value, frozen=True):
    input: list[ModelItem] | UnsetType = UNSET
    output: list[ModelItem] | UnsetType = UNSET


class ParamItem(Value, frozen=True):
    section: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    value: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class ConfigItem(Value, frozen=True):
    name: str | UnsetType = UNSET
    value: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


HyperParams = dict[str, dict[str, ParamItem]]
Configuration = dict[str, ConfigItem]
Container = dict[str, str | None]
Runtime = dict[str, Any]
