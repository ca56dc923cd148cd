"""`tasktrack demo` as a new user runs it: on a database given by URL and on the embedded
server, twice each; the scenario lands in the log and the summary and timeline are printed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tasktrack.cli.demo import PROJECTS
from tasktrack.store.embedded import POSTGRES_MAJOR
from tests.e2e.cli import run

WIDE = {"COLUMNS": "200"}  # a wide terminal: rich fits tables to it, truncating cells


def _played(stdout: str) -> str:
    """The company the run played in, after checking what it printed."""
    assert "scenario played" in stdout, stdout
    assert "tasks per status per project" in stdout
    assert all(project in stdout for project in PROJECTS)
    assert "status timeline of" in stdout
    # The showcase task failed, was reset, and ran again to completion, in that order.
    timeline = stdout.split("status timeline of", 1)[1]
    steps = ["queued", "in_progress", "failed", "reset", "queued", "in_progress", "completed"]
    at = 0
    for step in steps:
        at = timeline.index(step, at) + len(step)
    return stdout.split("company ", 1)[1].split(":", 1)[0].strip()


def test_the_demo_runs_twice_on_a_database_given_by_url(
    new_migrated_database: Callable[[], str],
) -> None:
    url = new_migrated_database()
    companies = []
    for _ in range(2):
        result = run("demo", env={"TASKTRACK_DATABASE_URL": url, **WIDE})
        assert result.returncode == 0, result.stderr
        companies.append(_played(result.stdout))
    assert companies[0] != companies[1]
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        rows = conn.execute(
            "SELECT company, type, count(*) FROM events GROUP BY company, type"
        ).fetchall()
    per_company: dict[str, dict[str, int]] = {}
    for company, kind, count in rows:
        per_company.setdefault(company, {})[kind] = count
    assert set(per_company) == set(companies)
    for kinds in per_company.values():
        # Dozens of tasks, queued, started, failed, reset, completed, published, archived,
        # and deleted: each kind of fact is in the log, in both runs. (Not the same counts to
        # the event: a stop finds its worker live or not depending on how fast the run goes.)
        assert kinds.get("TaskCreated", 0) == 12 * len(PROJECTS)
        for kind in (
            "TaskEnqueued",
            "TaskStarted",
            "TaskFailed",
            "TaskReset",
            "TaskCompleted",
            "TaskPublished",
            "TaskArchived",
            "TaskDeleted",
        ):
            assert kinds.get(kind, 0) > 0, (kind, kinds)


@pytest.mark.smoke
def test_the_demo_runs_twice_on_the_embedded_server(tmp_path: Path) -> None:
    """No URL: the embedded server is created in the data directory, then reused, and stopped
    when the demo ends."""
    env = {"TASKTRACK_DATA_DIR": str(tmp_path / "data"), **WIDE}
    for _ in range(2):
        result = run("demo", env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        _played(result.stdout)
    pgdata = tmp_path / "data" / f"pg{POSTGRES_MAJOR}"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists()
