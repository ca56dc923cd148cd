"""Running the installed `tasktrack` command as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

ENV_URL = "TASKTRACK_DATABASE_URL"
TASKTRACK = shutil.which("tasktrack") or os.path.join(os.path.dirname(sys.executable), "tasktrack")


def run(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `tasktrack ARGS` with a clean tasktrack environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    base.update(env or {})
    return subprocess.run(
        [TASKTRACK, *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )


Command = Callable[..., subprocess.CompletedProcess[str]]
Tt = Command  # the `tt` fixture: a CLI command group for one company


def company_command(group: str, database: str, company: str) -> Command:
    """`tasktrack GROUP --company COMPANY ARGS` on `database` (`company_=` acts as another)."""

    def call(*args: str, company_: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(group, "--company", company_ or company, *args, env={ENV_URL: database})

    return call


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed, without a traceback."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))
