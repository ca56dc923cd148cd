"""The file server's Client methods (a mixin of tasktrack.api.Client): its facts go to the log."""

from __future__ import annotations

from typing import Any

from tasktrack.domain import file_commands as cmd
from tasktrack.service.results import Result


class FileMethods:
    """Mixed into Client, which provides `_do`."""

    def _do(self, kind: type[Any], fields: dict[str, Any]) -> Result:
        raise NotImplementedError

    def record_file_stored(self, path: str, size: int, sha256: str) -> Result:
        """Append FileStored to the caller's company's files stream."""
        return self._do(cmd.RecordFileStored, {"path": path, "size": size, "sha256": sha256})

    def record_files_deleted(self, paths: list[str]) -> Result:
        """Append a FileDeleted per path to the caller's company's files stream."""
        return self._do(cmd.RecordFilesDeleted, {"paths": paths})
