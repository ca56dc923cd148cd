"""The file server's folder on disk: one sub-folder per company, reached without following links.

Every path is walked name by name from the company's folder with directory file descriptors
and O_NOFOLLOW, so a symbolic link placed anywhere under the folder (by an administrator, a
restore, another program) is never followed: a link where a folder is expected, or as the file
itself, is "no such file" to a read and a refused path to a write. Uploads are written to
`.incoming/` beside the company folders (never servable: no company folder has that name)
and renamed into place when complete, so a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from tasktrack.domain.files import BadFilePath, FileNotFound

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_INCOMING = ".incoming"
# errno values that mean "a name on the way is not a folder we may enter" (a link, a file).
_NOT_A_WAY = (errno.ELOOP, errno.ENOTDIR, errno.ENOENT)


def company_folder(company: str) -> str:
    """The folder name of a company: readable, one name (a "/" or ".." in it is quoted or
    prefixed away), and long names hashed so the name stays within the file system's limit."""
    name = "co-" + quote(company, safe="")
    if len(name) > 200:
        name = "co-sha256-" + hashlib.sha256(company.encode()).hexdigest()
    return name


class Upload:
    """One file being received: written to a fresh file in `.incoming/`, hashed as it goes."""

    def __init__(self, incoming_fd: int) -> None:
        self.name = f"{uuid.uuid4().hex}.part"
        self._dir = incoming_fd
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(self.name, flags, 0o600, dir_fd=incoming_fd)
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)
        self._hash.update(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        """Forget the partial file (a refused or broken upload)."""
        self.close()
        if self._dir < 0:
            return
        with suppress(FileNotFoundError):
            os.unlink(self.name, dir_fd=self._dir)
        self.release()

    def release(self) -> None:
        """Close the descriptor of `.incoming/` (once the file was placed or discarded)."""
        if self._dir >= 0:
            os.close(self._dir)
            self._dir = -1


class FileStore:
    """The folder of the file server (created on first use, private to tasktrack's user)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _root_fd(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    @contextmanager
    def _folder(self, names: list[str], *, create: bool) -> Iterator[int]:
        """A descriptor of the folder reached by `names` from the root, links never followed."""
        fd = self._root_fd()
        try:
            for name in names:
                if create:
                    with suppress(FileExistsError):
                        os.mkdir(name, 0o700, dir_fd=fd)
                try:
                    inner = os.open(name, _DIR, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in _NOT_A_WAY:
                        raise
                    if create:
                        raise BadFilePath(
                            f"Invalid file path: {name!r} is not a folder here"
                        ) from None
                    raise FileNotFound("File not found") from None
                os.close(fd)
                fd = inner
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def locked(self, company: str) -> Iterator[None]:
        """Hold the company's file lock: a change is recorded in the log and made on disk
        while it is held, so two uploads (or an upload and a delete) of one path land on disk
        in the order the log has them, across every process of `tasktrack serve`."""
        with self._folder([_INCOMING], create=True) as folder:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(company_folder(company) + ".lock", flags, 0o600, dir_fd=folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def begin(self) -> Upload:
        """A new upload in `.incoming/`."""
        with self._folder([_INCOMING], create=True) as fd:
            return Upload(os.dup(fd))

    def check_target(self, company: str, parts: tuple[str, ...]) -> None:
        """Refuse an upload whose place is taken by a folder or a link (before it is recorded)."""
        with self._folder([company_folder(company), *parts[:-1]], create=True) as fd:
            try:
                mode = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                return
            if not stat.S_ISREG(mode):
                raise BadFilePath(f"Invalid file path: {parts[-1]!r} is a folder or a link")

    def place(self, upload: Upload, company: str, parts: tuple[str, ...]) -> None:
        """Move a complete upload to its path (atomically replacing an older file there)."""
        upload.close()
        with self._folder([company_folder(company), *parts[:-1]], create=True) as fd:
            os.rename(upload.name, parts[-1], src_dir_fd=upload._dir, dst_dir_fd=fd)
        upload.release()

    def open(self, company: str, parts: tuple[str, ...]) -> tuple[int, int]:
        """(descriptor, size) of the regular file at the path; FileNotFound otherwise."""
        with self._folder([company_folder(company), *parts[:-1]], create=False) as folder:
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            except OSError as exc:
                if exc.errno in (*_NOT_A_WAY, errno.EISDIR):
                    raise FileNotFound("File not found") from None
                raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileNotFound("File not found")
        return fd, info.st_size

    def files_at(self, company: str, parts: tuple[str, ...]) -> list[str]:
        """The regular files a path names: itself, or every file under it if it is a folder
        (links are not followed nor listed); FileNotFound if none."""
        names = [company_folder(company), *parts[:-1]]
        with self._folder(names, create=False) as folder:
            try:
                mode = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode
            except FileNotFoundError:
                raise FileNotFound("File not found") from None
        base = "/".join(parts)
        if stat.S_ISREG(mode):
            return [base]
        if not stat.S_ISDIR(mode):
            raise FileNotFound("File not found")
        found: list[str] = []
        with self._folder([company_folder(company), *parts], create=False) as fd:
            for top, _dirs, files, _top_fd in os.fwalk(dir_fd=fd, follow_symlinks=False):
                for name in files:
                    if stat.S_ISREG(os.stat(name, dir_fd=_top_fd, follow_symlinks=False).st_mode):
                        relative = os.path.normpath(os.path.join(top, name))
                        found.append(f"{base}/{relative}")
        return sorted(found)

    def remove(self, company: str, parts: tuple[str, ...]) -> None:
        """Delete the regular file at the path (already gone: nothing to do)."""
        try:
            with self._folder([company_folder(company), *parts[:-1]], create=False) as fd:
                if stat.S_ISREG(os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode):
                    os.unlink(parts[-1], dir_fd=fd)
        except (FileNotFound, FileNotFoundError):
            pass

    def inventory(self, company: str) -> dict[str, tuple[int, str]]:
        """Every regular file of a company's folder, (size, SHA-256) by path (links skipped)."""
        found: dict[str, tuple[int, str]] = {}
        try:
            with self._folder([company_folder(company)], create=False) as fd:
                for top, _dirs, files, top_fd in os.fwalk(dir_fd=fd, follow_symlinks=False):
                    for name in files:
                        path = os.path.normpath(os.path.join(top, name))
                        entry = _hashed(name, top_fd)
                        if entry is not None:
                            found[path] = entry
        except FileNotFound:
            pass
        return found

    def company_folders(self) -> list[str]:
        """The names of the company folders present."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.name.startswith("co-"))


def _hashed(name: str, folder: int) -> tuple[int, str] | None:
    """(size, SHA-256) of a regular file, read a chunk at a time; None for anything else."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest, size = hashlib.sha256(), 0
        while chunk := os.read(fd, 1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()
    finally:
        os.close(fd)
