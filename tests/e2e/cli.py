"""Running the installed `tasktrack` command as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

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
