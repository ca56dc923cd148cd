"""The refusals of the models service, with ClearML's result codes (apierrors 200-206)."""

from __future__ import annotations

from tasktrack.domain.errors import DomainError


class ModelNotFound(DomainError):
    """Unknown, deleted or another company's model (or a public one it may not change)."""

    subcode = 201

    def __init__(self, model_id: str) -> None:
        super().__init__(f"Invalid model id: id={model_id}", id=model_id)


class ModelIsReady(DomainError):
    """A published model is read-only: its weights and definition are frozen."""

    subcode = 203


class ModelInUse(DomainError):
    """Tasks take the model as input: deleting it needs `force`."""

    subcode = 205


class ModelCreatingTaskExists(DomainError):
    """The model's task is published: deleting the model needs `force`."""

    subcode = 206


class MissingRequiredFields(DomainError):
    subcode = 11


class ModelsNotFound(DomainError):
    """A task references models that do not exist (or that the caller may not read)."""

    subcode = 201

    def __init__(self, model_ids: list[str]) -> None:
        super().__init__(f"Invalid model id: models={', '.join(model_ids)}", models=model_ids)
