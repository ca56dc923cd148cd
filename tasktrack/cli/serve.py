"""`tasktrack serve`: the HTTP API on uvicorn, over the configured or the embedded database."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click
import uvicorn

from tasktrack.cli.common import database, settings
from tasktrack.config import ENV_DATABASE_URL, ENV_FILES_DIR, ENV_UI_DIR
from tasktrack.store import credentials as store
from tasktrack.store import migrate
from tasktrack.store.engine import Database

FIRST_COMPANY = "default"
FIRST_USER = "admin"


def first_credential(db: Database, data_dir: Path) -> store.NewCredential:
    """The embedded server's own credential: created on first start, reused afterwards."""
    path = data_dir / "credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        with db.engine.connect() as conn:
            if store.verify(conn, saved["access_key"], saved["secret_key"]) is not None:
                return store.NewCredential(**saved)
    with db.engine.begin() as conn:
        new = store.create(conn, FIRST_COMPANY, FIRST_USER)
    path.write_text(
        json.dumps(
            {
                "access_key": new.access_key,
                "secret_key": new.secret_key,
                "company": new.company,
                "user": new.user,
            }
        )
    )
    path.chmod(0o600)
    return new


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8008, show_default=True, type=int)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes."
)
@click.option("--access-log", is_flag=True, help="Log every request (method, path, status).")
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"The file server's folder (default: `files` in the data directory; {ENV_FILES_DIR}).",
)
@click.option(
    "--ui",
    "ui_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A built ClearML web UI to serve on the same port (the API also under /api).",
)
def serve(  # noqa: PLR0917 (click passes each option as its own argument)
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    files_dir: Path | None,
    ui_dir: Path | None,
) -> None:
    """Serve the ClearML-style HTTP API, its file server under /files and, with --ui,
    ClearML's web UI."""
    # Worker processes read their settings from the environment.
    if files_dir is not None:
        os.environ[ENV_FILES_DIR] = str(files_dir.resolve())
    if ui_dir is not None:
        if not (ui_dir / "index.html").is_file():
            click.echo(f"tasktrack: {ui_dir} holds no index.html: not a built web UI", err=True)
            sys.exit(2)
        os.environ[ENV_UI_DIR] = str(ui_dir.resolve())
    current = settings()
    with database() as db:
        if db.embedded:
            migrate.upgrade(db.engine)
            cred = first_credential(db, current.data_dir)
            click.echo(
                f"credential (stored in {current.data_dir / 'credentials.json'}):\n"
                f"  access_key={cred.access_key}\n  secret_key={cred.secret_key}\n"
                f"  company={cred.company} user={cred.user}",
                err=True,
            )
        else:
            try:
                migrate.require_current(db.engine)
            except migrate.SchemaBehind as exc:
                click.echo(f"tasktrack: {exc}", err=True)
                sys.exit(1)
        # Worker processes open the same database: the embedded one by its socket URL.
        os.environ[ENV_DATABASE_URL] = db.engine.url.render_as_string(hide_password=False)
        click.echo(f"serving {db.url} on http://{host}:{port}", err=True)
        click.echo(
            f"file server on http://{host}:{port}/files (folder {current.files_dir})", err=True
        )
        if ui_dir is not None:
            click.echo(f"web UI ({ui_dir}) on http://{host}:{port}/", err=True)
        # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal with the handler
        # that was in place before it started. Left at the default, that kills the process
        # on the spot, before `database()` can stop the embedded PostgreSQL, which would live
        # on as an orphan holding the data directory: exit through the context managers instead.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        uvicorn.run(
            "tasktrack.http.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info" if access_log else "warning",
            access_log=access_log,
            # Connection limits, per process (docs/reliability.md, Connection limits): uvicorn
            # answers 503 past `limit_concurrency` open connections or running requests and
            # closes idle keep-alive connections; the protocol class adds deadlines and a size
            # cap on request heads and a deadline on bodies.
            http="tasktrack.http.connections:GuardedHttpToolsProtocol",
            limit_concurrency=current.max_connections,
            timeout_keep_alive=current.keep_alive_seconds,
            h11_max_incomplete_event_size=current.max_header_bytes,
        )
