"""`tasktrack serve` itself: embedded first start (a credential printed, stored, reused) and
refusing a database that is behind the latest migration."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tasktrack.store.embedded import POSTGRES_MAJOR
from tests.e2e.cli import TASKTRACK, run
from tests.e2e.http import Api, basic, free_port


def _serve_once(env: dict[str, str]) -> tuple[str, str]:
    """Start serve, wait until it answers, list tasks with the printed credential, stop it."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")} | env
    proc = subprocess.Popen(
        [TASKTRACK, "serve", "--port", str(port)],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        up = False
        while not up and time.monotonic() < deadline and proc.poll() is None:
            try:
                with httpx.Client(timeout=1) as probe:
                    up = probe.get(f"http://127.0.0.1:{port}/debug.ping").status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert up, "serve did not come up"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    access = re.search(r"access_key=(\S+)", stderr)
    secret = re.search(r"secret_key=(\S+)", stderr)
    assert access, stderr
    assert secret, stderr
    return access.group(1), secret.group(1)


@pytest.mark.smoke
def test_embedded_first_start_creates_a_credential_and_reuses_it(tmp_path: Path) -> None:
    env = {"TASKTRACK_DATA_DIR": str(tmp_path / "data")}
    first = _serve_once(env)
    assert (tmp_path / "data" / "credentials.json").stat().st_mode & 0o777 == 0o600
    # Stopped by SIGTERM, serve stopped its embedded PostgreSQL too (a clean shutdown removes
    # postmaster.pid); an orphan server would keep running after it.
    pid_file = tmp_path / "data" / f"pg{POSTGRES_MAJOR}" / "postmaster.pid"
    assert not pid_file.exists()
    again = _serve_once(env)
    assert again == first
    assert not pid_file.exists()


def test_refuses_a_database_behind_the_latest_migration(new_database: Callable[[], str]) -> None:
    result = run(
        "serve",
        "--port",
        str(free_port()),
        env={"TASKTRACK_DATABASE_URL": new_database()},
        timeout=60,
    )
    assert result.returncode == 1
    assert "tasktrack db upgrade" in result.stderr


def test_several_workers_serve_the_same_database(
    e2e_database: str, new_caller: Callable[..., Api]
) -> None:
    from tests.e2e.http import serving

    owner = new_caller()
    cred = owner.credential  # type: ignore[attr-defined]
    with serving({"TASKTRACK_DATABASE_URL": e2e_database}, workers=2) as base:
        api = Api(base, basic(cred.access_key, cred.secret_key))
        try:
            ids = {
                api.ok("tasks.create", {"name": f"task {i}", "type": "training"})["id"]
                for i in range(10)
            }
            token = api.ok("auth.login")["token"]
            bearer = Api(base, f"Bearer {token}")
            try:
                # Tokens from one worker are good on the other: the key is in the database.
                for _ in range(6):
                    assert len(bearer.ok("tasks.get_all", {})["tasks"]) == len(ids)
            finally:
                bearer.close()
        finally:
            api.close()
