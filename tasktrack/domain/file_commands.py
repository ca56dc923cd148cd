"""The file server's orders to the log: record that a file was stored or deleted.

Not endpoints of the API: the file server (http/files.py) runs them after it wrote or removed
the bytes, through the Client like any other writer.
"""

from __future__ import annotations

from tasktrack.domain.commands import Command


class RecordFileStored(Command, frozen=True, kw_only=True):
    """Record an upload: the file's path in the company folder, its size and its SHA-256."""

    path: str
    size: int
    sha256: str


class RecordFilesDeleted(Command, frozen=True, kw_only=True):
    """Record the deletion of files (one path for a DELETE; many for a folder or a batch)."""

    paths: list[str]
