"""A PostgreSQL server of one test's own, on a loopback port, that the test may stop and crash.

It uses the binaries of the embedded server's wheel (tasktrack's own dependency), so no server
shared with other tests is ever restarted. As root, the server runs as the wheel's `pgserver`
system user (PostgreSQL refuses to run as root), like the embedded server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg

from tasktrack.store import embedded
from tests.e2e.http import free_port

SYSTEM_USER = "pgserver"


class PrivateServer:
    """initdb'd once; start, stop (fast or immediate: a crash), start again on the same port."""

    def __init__(self, root: Path) -> None:
        self.pgdata = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self._pg: Any = embedded._pgserver()
        self.bin = self._pg.postgres_server.POSTGRES_VERSIONS[embedded.POSTGRES_MAJOR]
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), *args],
            check=True,
            capture_output=True,
            timeout=timeout,
            user=self.user,
        )

    def init(self) -> None:
        self.pgdata.mkdir()
        self.log.touch()
        if self.user is not None:
            utils = self._pg.utils
            utils.ensure_user_exists(self.user)
            utils.ensure_prefix_permissions(self.pgdata)
            shutil.chown(self.pgdata, self.user, self.user)
            shutil.chown(self.log, self.user, self.user)
        subprocess.run(
            [str(self.bin / "initdb"), "--auth=trust", "-U", "postgres", "-E", "utf8",
             "-D", str(self.pgdata)],
            check=True, capture_output=True, timeout=120, user=self.user,
        )  # fmt: skip

    def start(self) -> None:
        """Start and wait until it accepts connections (after crash recovery, if any)."""
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=60"
        self._ctl("-w", "-t", "60", "-l", str(self.log), "-o", options, "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: sessions are ended cleanly; `immediate`: every process dies (a crash)."""
        self._ctl("-w", "-m", mode, "stop")


@contextmanager
def private_server() -> Iterator[PrivateServer]:
    """A fresh server in a temporary directory, running; stopped and deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="tasktrack-private-pg-") as tmp:
        server = PrivateServer(Path(tmp))
        server.init()
        server.start()
        try:
            yield server
        finally:
            with suppress(subprocess.SubprocessError):
                server.stop("immediate")
