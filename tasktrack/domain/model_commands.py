"""Every order tasktrack takes about models: one frozen Struct per command (ClearML's field
names, so an HTTP body decodes straight into it), each naming its endpoint."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from tasktrack.domain.commands import Command
from tasktrack.domain.events import MetadataItem
from tasktrack.domain.limits import Key, KeyIds


class ModelFields(Command, frozen=True, kw_only=True):
    """The descriptive fields create, edit and update share."""

    name: str | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    project: Key | UnsetType | None = UNSET
    task: Key | UnsetType | None = UNSET
    ready: bool | UnsetType = UNSET
    ui_cache: dict[str, Any] | UnsetType | None = UNSET


class CreateModel(ModelFields, frozen=True, kw_only=True):
    endpoint = "models.create"
    summary = "Create a model (not necessarily of a task)"

    uri: str
    name: str
    framework: str | None = None
    design: dict[str, Any] | None = None
    labels: dict[str, int] = {}
    public: bool = False
    parent: Key | None = None
    # A list of entries, or ClearML's newer form: an object keyed by each entry's key.
    metadata: list[MetadataItem] | dict[str, MetadataItem] = []


class UpdateModel(ModelFields, frozen=True, kw_only=True):
    endpoint = "models.update"
    summary = "Update a model's descriptive fields (and the task's last iteration)"

    model: Key
    iteration: int | None = None
    metadata: list[MetadataItem] | dict[str, MetadataItem] | UnsetType = UNSET


class EditModel(UpdateModel, frozen=True, kw_only=True):
    endpoint = "models.edit"
    summary = "Edit a model (weights and definition too, while it is not ready)"

    uri: str | UnsetType = UNSET
    framework: str | UnsetType | None = UNSET
    design: dict[str, Any] | UnsetType | None = UNSET
    labels: dict[str, int] | UnsetType = UNSET
    parent: Key | UnsetType | None = UNSET
    metadata: list[MetadataItem] | dict[str, MetadataItem] | UnsetType = UNSET


class UpdateModelForTask(Command, frozen=True, kw_only=True):
    endpoint = "models.update_for_task"
    summary = "Create or update a task's output model and link it"

    task: Key
    uri: str | None = None
    name: str | UnsetType = UNSET
    comment: str | UnsetType = UNSET
    tags: list[Key] | UnsetType = UNSET
    system_tags: list[Key] | UnsetType = UNSET
    override_model_id: Key | None = None
    iteration: int | None = None


class SetModelReady(Command, frozen=True, kw_only=True):
    endpoint = "models.set_ready"
    summary = "Publish a model (and its task, unless publish_task is false)"

    model: Key
    force_publish_task: bool = False
    publish_task: bool = True


class ManyModels(Command, frozen=True, kw_only=True):
    """A command on a list of models; each succeeds or fails alone."""

    ids: KeyIds


class PublishModels(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.publish_many"
    summary = "Publish models"

    force_publish_task: bool = False
    publish_task: bool = True


class ArchiveModels(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.archive_many"
    summary = "Archive models"


class UnarchiveModels(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.unarchive_many"
    summary = "Unarchive models"


class DeleteModel(Command, frozen=True, kw_only=True):
    endpoint = "models.delete"
    summary = "Delete a model (force: even if its task is published)"

    model: Key
    force: bool = False


class DeleteModels(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.delete_many"
    summary = "Delete models"

    force: bool = False


class MoveModels(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.move"
    summary = "Move models to a project (by id or name; none: the root)"

    project: Key | None = None
    project_name: str | None = None


class MakeModelsPublic(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.make_public"
    summary = "Make models readable by every company"


class MakeModelsPrivate(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.make_private"
    summary = "Make public models private again"


class AddOrUpdateModelMetadata(Command, frozen=True, kw_only=True):
    endpoint = "models.add_or_update_metadata"
    summary = "Add or replace metadata entries of a model"

    model: Key
    metadata: list[MetadataItem] | dict[str, MetadataItem]
    replace_metadata: bool = False


class DeleteModelMetadata(Command, frozen=True, kw_only=True):
    endpoint = "models.delete_metadata"
    summary = "Delete metadata entries of a model"

    model: Key
    keys: list[str]


class UpdateModelTags(ManyModels, frozen=True, kw_only=True):
    endpoint = "models.update_tags"
    summary = "Add and remove tags of models"

    add_tags: list[Key] = []
    remove_tags: list[Key] = []


def declared() -> list[type[Command]]:
    """Every model command that names an endpoint (the registry tests cross-check them)."""
    return [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, Command) and value.endpoint
    ]
