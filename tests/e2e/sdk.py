"""Running ClearML SDK scripts as one user on one machine, and reading back what they recorded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.http import Api

SCRIPTS = Path(__file__).parent / "sdk_scripts"


class Sdk:
    """Runs SDK scripts as one user on one machine (shared HOME: cache, offline sessions)."""

    def __init__(self, server: str, api: Api, home: Path, subprocess_reporting: bool) -> None:
        self.api = api
        self.home = home
        cred = api.credential  # type: ignore[attr-defined]
        config = home / "clearml.conf"
        config.write_text(
            "sdk { development { report_use_subprocess: %s } }\n"
            % ("true" if subprocess_reporting else "false")
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CLEARML_", "TRAINS_"))},
            "HOME": str(home),
            "CLEARML_CONFIG_FILE": str(config),
            "CLEARML_API_HOST": server,
            "CLEARML_WEB_HOST": server,
            "CLEARML_FILES_HOST": f"{server}/files",
            "CLEARML_API_ACCESS_KEY": cred.access_key,
            "CLEARML_API_SECRET_KEY": cred.secret_key,
        }

    def run(self, script: str, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
        # The script runs from the user's own folder, outside this repository: inside a git
        # work tree the SDK runs git (repository detection) from a forked reporting process,
        # which can deadlock in the SDK itself.
        local = self.home / script
        shutil.copyfile(SCRIPTS / script, local)
        done = subprocess.run(
            [sys.executable, str(local), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        found = re.search(r"^(TASK|ZIP) (\S+)$", done.stdout, re.MULTILINE)
        assert found, f"no id printed:\n{done.stdout}\n{done.stderr}"
        return done, found.group(2)

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.api.ok("tasks.get_by_id", {"task": task_id})["task"])

    def history(self, task_id: str) -> list[tuple[str, str]]:
        entries = self.api.ok("tasks.get_status_history", {"task": task_id})["history"]
        return [(h["from_status"], h["to_status"]) for h in entries]

    def metric(self, task_id: str, metric: str, variant: str) -> dict[str, Any]:
        for variants in self.task(task_id)["last_metrics"].values():
            for entry in variants.values():
                if (entry["metric"], entry["variant"]) == (metric, variant):
                    return dict(entry)
        raise AssertionError(f"{metric}/{variant} not in last_metrics of {task_id}")

    def series(self, task_id: str, metric: str, variant: str) -> tuple[list[int], list[float]]:
        got = self.api.ok("events.scalar_metrics_iter_histogram", {"task": task_id})
        return got[metric][variant]["x"], got[metric][variant]["y"]
