"""The organization service's Client methods (a mixin of tasktrack.api.Client): read-only
queries over the company's tasks, models, projects, queues and users."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection

from tasktrack.queries import organization as org_queries
from tasktrack.queries import project_usages as usage_queries
from tasktrack.queries.project_contents import TagFilter, Tags
from tasktrack.service import Caller


class OrganizationMethods:
    """Mixed into Client, which provides `_read` and `caller`."""

    caller: Caller

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def organization_tags(
        self, include_system: bool = False, tag_filter: TagFilter | None = None
    ) -> Tags:
        """organization.get_tags: the tags of every task and model of the company."""
        with self._read() as conn:
            return org_queries.company_tags(conn, self.caller.company, include_system, tag_filter)

    def entities_count(self, request: org_queries.CountRequest) -> dict[str, Any]:
        """organization.get_entities_count: per kind asked, how many its filter matches."""
        with self._read() as conn:
            return org_queries.entities_count(conn, self.caller.company, request)

    def user_companies(self) -> dict[str, Any]:
        """organization.get_user_companies: the caller's company and its users."""
        with self._read() as conn:
            return org_queries.user_companies(conn, self.caller.company)

    def project_usages(
        self, projects: Sequence[str], from_date: str, to_date: str, **options: Any
    ) -> dict[str, Any]:
        """organization.get_project_usages (include_development, breakdown_keys,
        usage_fields): running time per day by project, queue and user."""
        with self._read() as conn:
            return usage_queries.project_usages(
                conn, self.caller.company, projects, from_date, to_date, **options
            )
