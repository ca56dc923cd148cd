"""The reports service's Client methods (a mixin of tasktrack.api.Client): a report's
commands go to the service like a task's; its reads are the tasks' with a report's scope."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection

from tasktrack.domain import report_commands as cmd
from tasktrack.queries import report_docs as report_queries
from tasktrack.service import Caller
from tasktrack.service.results import Result


class ReportMethods:
    """Mixed into Client, which provides `_do`, `_read` and `caller`."""

    caller: Caller

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def create_report(self, **f: Any) -> Result:
        """reports.create {name, tags?, comment?, report?, report_assets?, project?}:
        {id, project_id} (the report's .reports project, created hidden when absent)."""
        return self._do(cmd.CreateReport, f)

    def update_report(self, **f: Any) -> Result:
        """reports.update {task, name?, tags?, comment?, report?, report_assets?}:
        {updated, fields}; text and assets only while the report is a draft (400/110)."""
        return self._do(cmd.UpdateReport, f)

    def publish_report(self, **f: Any) -> Result:
        """reports.publish {task, message?}: {updated, fields}."""
        return self._do(cmd.PublishReport, f)

    def archive_report(self, **f: Any) -> Result:
        """reports.archive {task, message?}: {archived}."""
        return self._do(cmd.ArchiveReport, f)

    def unarchive_report(self, **f: Any) -> Result:
        """reports.unarchive {task, message?}: {unarchived}."""
        return self._do(cmd.UnarchiveReport, f)

    def move_report(self, **f: Any) -> Result:
        """reports.move {task, project? | project_name?}: {project_id}."""
        return self._do(cmd.MoveReport, f)

    def delete_report(self, **f: Any) -> Result:
        """reports.delete {task, force?}: {deleted}."""
        return self._do(cmd.DeleteReport, f)

    def report_tags(self) -> list[str]:
        """reports.get_tags: every tag of the company's reports, sorted."""
        with self._read() as conn:
            return report_queries.report_tags(conn, self.caller.company)

    def reports_projects(self, wanted: Sequence[str | None]) -> list[str]:
        """The .reports projects of these projects (None: the top level)."""
        with self._read() as conn:
            return report_queries.reports_projects(conn, self.caller.company, wanted)
