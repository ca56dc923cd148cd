"""compose.yaml is valid and wires tasktrack to its PostgreSQL by TASKTRACK_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_wires_tasktrack_to_postgres() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "tasktrack"} <= set(services)
    url = services["tasktrack"]["environment"]["TASKTRACK_DATABASE_URL"]
    assert url.startswith("postgresql://")
    assert "@postgres:5432/" in url
    assert "migrate" in services["tasktrack"]["depends_on"]
    assert "postgres" in services["migrate"]["depends_on"]
    assert services["migrate"]["command"] == ["tasktrack", "db", "upgrade"]
