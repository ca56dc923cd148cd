"""The models service's Client methods (a mixin of tasktrack.api.Client): commands go to the
service like a task's, queries read the `models` read model."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection

from tasktrack.domain import model_commands as cmd
from tasktrack.domain.errors import InvalidRequest
from tasktrack.queries import model_history, project_models
from tasktrack.queries import models as model_queries
from tasktrack.service import Caller
from tasktrack.service.results import Result
from tasktrack.store.engine import raw

_Row = TypeVar("_Row")


class ModelMethods:
    """Mixed into Client, which provides `_do`, `_read` and `caller`."""

    caller: Caller

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def scrolled(
        self,
        scroll_id: str | None,
        window: Callable[[int], tuple[int, int]],
        read: Callable[[Connection, tuple[int, int]], list[_Row]],
    ) -> tuple[list[_Row], str]:
        raise NotImplementedError

    def create_model(self, **f: Any) -> Result:
        """models.create {uri, name, ...}: {id, created}."""
        return self._do(cmd.CreateModel, f)

    def update_model(self, **f: Any) -> Result:
        return self._do(cmd.UpdateModel, f)

    def edit_model(self, **f: Any) -> Result:
        return self._do(cmd.EditModel, f)

    def update_model_for_task(self, **f: Any) -> Result:
        return self._do(cmd.UpdateModelForTask, f)

    def set_model_ready(self, **f: Any) -> Result:
        return self._do(cmd.SetModelReady, f)

    def publish_models(self, **f: Any) -> Result:
        return self._do(cmd.PublishModels, f)

    def archive_models(self, **f: Any) -> Result:
        return self._do(cmd.ArchiveModels, f)

    def unarchive_models(self, **f: Any) -> Result:
        return self._do(cmd.UnarchiveModels, f)

    def delete_model(self, **f: Any) -> Result:
        return self._do(cmd.DeleteModel, f)

    def delete_many_models(self, **f: Any) -> Result:
        return self._do(cmd.DeleteModels, f)

    def move_models(self, **f: Any) -> Result:
        return self._do(cmd.MoveModels, f)

    def make_models_public(self, **f: Any) -> Result:
        return self._do(cmd.MakeModelsPublic, f)

    def make_models_private(self, **f: Any) -> Result:
        return self._do(cmd.MakeModelsPrivate, f)

    def add_or_update_model_metadata(self, **f: Any) -> Result:
        return self._do(cmd.AddOrUpdateModelMetadata, f)

    def delete_model_metadata(self, **f: Any) -> Result:
        return self._do(cmd.DeleteModelMetadata, f)

    def update_model_tags(self, **f: Any) -> Result:
        """models.update_tags {ids, add_tags, remove_tags}: {updated}."""
        return self._do(cmd.UpdateModelTags, f)

    # --- reading ----------------------------------------------------------------------------

    def get_model(self, model: str) -> model_queries.ModelView:
        with self._read() as conn:
            return model_queries.get_by_id(conn, self.caller.company, model)

    def get_model_by_task(self, task: str) -> model_queries.ModelView:
        with self._read() as conn:
            return model_queries.get_by_task_id(conn, self.caller.company, task)

    def get_models(self, **filters: Any) -> list[model_queries.ModelView]:
        """Filters: id, name (a regular expression), project, task, framework, uri, user,
        ready, tags, system_tags, include_stats, page, page_size."""
        try:
            query = msgspec.convert(filters, model_queries.ModelFilter)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(f"Validation error: {exc}") from exc
        return self.query_models(query)

    def query_models(self, query: model_queries.ModelFilter) -> list[model_queries.ModelView]:
        with self._read() as conn:
            return model_queries.get_all(conn, self.caller.company, query)

    def query_models_scroll(
        self,
        query: model_queries.ModelFilter,
        scroll_id: str | None,
        window: Callable[[int], tuple[int, int]],
    ) -> tuple[list[model_queries.ModelView], str]:
        """One page of a models listing scroll (models.get_all_ex): (models, the scroll's id),
        under the tasks' scroll state (Client.scrolled)."""
        company = self.caller.company
        return self.scrolled(
            scroll_id, window, lambda conn, at: model_queries.get_all(conn, company, query, at)
        )

    def model_history(self, model: str) -> list[model_history.ModelHistoryEntry]:
        """Every event of the model's stream from the log (who changed what, when); deleted
        models too."""
        with self._read() as conn:
            return model_history.history(raw(conn), self.caller.company, model)

    def get_model_frameworks(self, projects: list[str] | None = None) -> list[str]:
        with self._read() as conn:
            return model_queries.get_frameworks(conn, self.caller.company, projects)

    def model_metadata_keys(
        self, project: str | None = None, **options: Any
    ) -> project_models.MetadataKeys:
        """projects.get_model_metadata_keys (include_subprojects, page, page_size)."""
        with self._read() as conn:
            return project_models.metadata_keys(
                conn, self.caller.company, [project] if project else None, **options
            )

    def model_metadata_values(
        self, projects: list[str] | None, key: str, **options: Any
    ) -> project_models.MetadataValues:
        """projects.get_model_metadata_values (include_subprojects, allow_public, page,
        page_size)."""
        with self._read() as conn:
            return project_models.metadata_values(
                conn, self.caller.company, projects, key=key, **options
            )
