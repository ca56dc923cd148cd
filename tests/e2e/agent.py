"""Running the real `clearml-agent` (daemon or execute) against `tasktrack serve`, docker-less,
in the test's own interpreter: no virtualenv is built and nothing is installed or cloned."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.sdk import Sdk

T = TypeVar("T")

# Beside the interpreter running the tests: the agent is in the test extras.
AGENT = Path(sys.executable).parent / "clearml-agent"


def require_agent() -> str:
    """The agent's path; a machine without it fails with the reason (it is a test extra)."""
    if not AGENT.exists():
        pytest.fail(
            f"clearml-agent is not installed beside {sys.executable}: it is in the test extras "
            "(pip install -e '.[test]')"
        )
    return str(AGENT)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90) -> T:
    """Poll `probe` until it answers something (not None/False), else fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


class Agent:
    """One agent machine: its own config (pointing at the SDK user's server and credential),
    worker id, and folders under the user's HOME."""

    def __init__(self, sdk: Sdk) -> None:
        self.sdk = sdk
        self.program = require_agent()
        self.worker = f"tt-e2e-{uuid.uuid4().hex[:8]}"
        home = sdk.home
        config = home / "agent.conf"
        # The agent builds no virtualenv (CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL below: the job
        # runs in this interpreter, where clearml is installed) and clones nothing (the jobs
        # are standalone scripts, stored in the task). Its folders are the test's own.
        config.write_text(
            "sdk { development { report_use_subprocess: false } }\n"
            "agent {\n"
            f'  venvs_dir: "{home / "venvs"}"\n'
            "  vcs_cache { enabled: false }\n"
            f'  venvs_cache {{ path: "{home / "venvs-cache"}" }}\n'
            f'  python_binary: "{sys.executable}"\n'
            "}\n"
        )
        self.env = {
            **sdk.env,
            "CLEARML_CONFIG_FILE": str(config),
            "CLEARML_WORKER_ID": self.worker,
            "CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def execute(self, task_id: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """`clearml-agent execute --id TASK`: run one task here and now, to its end."""
        return subprocess.run(
            [self.program, "execute", "--id", task_id],
            env=self.env,
            cwd=self.sdk.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @contextmanager
    def daemon(self, queue: str) -> Iterator[Path]:
        """`clearml-agent daemon --queue QUEUE --foreground` until the block ends (then SIGTERM:
        the agent unregisters its worker). Yields the file its output goes to."""
        output = self.sdk.home / f"daemon-{self.worker}.log"
        with output.open("w") as out:
            proc = subprocess.Popen(
                [self.program, "daemon", "--queue", queue, "--foreground", "--cpu-only"],
                env=self.env,
                cwd=self.sdk.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its job and the job's children stop with it
            )
            try:
                yield output
                assert proc.poll() is None, f"the daemon exited:\n{output.read_text()}"
            finally:
                self._stop(proc)

    @staticmethod
    def _stop(proc: subprocess.Popen[Any]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):  # what the daemon left in its session
            os.killpg(proc.pid, signal.SIGKILL)

    def running(self) -> dict[str, Any] | None:
        """This agent's worker in workers.get_all, if it is there."""
        for worker in self.sdk.api.ok("workers.get_all", {})["workers"]:
            if worker["id"] == self.worker:
                return dict(worker)
        return None
