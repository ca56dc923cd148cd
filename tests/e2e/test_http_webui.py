"""`tasktrack serve --ui DIR`: the UI's files, index.html for its page paths, configuration.json
pointing it at /api, and the API under /api and where it always was. Without --ui nothing
changes. (The real UI in a browser: test_webui_browser.py; here a stand-in build.)"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli import TASKTRACK
from tests.e2e.http import serving

INDEX = b"<!doctype html><html><head><base href='/'></head><body>the app</body></html>"


@pytest.fixture(scope="module")
def ui_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("webui")
    (root / "index.html").write_bytes(INDEX)
    (root / "main-ABC123.js").write_text("console.log('main');")
    (root / "assets").mkdir()
    (root / "assets" / "logo.svg").write_text("<svg/>")
    (root / "configuration.json").write_text('{"accountAdministration": true}')
    (tmp_path_factory.getbasetemp() / "secret.txt").write_text("outside the UI")
    return root


@pytest.fixture(scope="module")
def ui_server(e2e_database: str, ui_build: Path) -> Iterator[str]:
    with serving({"TASKTRACK_DATABASE_URL": e2e_database}, args=["--ui", str(ui_build)]) as base:
        yield base


def test_the_uis_files_and_its_pages_are_served(ui_server: str) -> None:
    with httpx.Client(base_url=ui_server) as http:
        for page in ("/", "/projects", "/projects/abc/experiments/def/output/log", "/login"):
            response = http.get(page)
            assert response.status_code == 200, page
            assert response.content == INDEX, page
            assert response.headers["content-type"].startswith("text/html")
        script = http.get("/main-ABC123.js")
        assert script.text == "console.log('main');"
        assert "javascript" in script.headers["content-type"]
        assert http.get("/assets/logo.svg").text == "<svg/>"
        # Nothing outside the UI's directory, however the path is spelled.
        for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
            assert b"outside the UI" not in http.get(escape).content, escape


def test_configuration_points_the_ui_at_the_api_keeping_the_builds_settings(
    ui_server: str,
) -> None:
    conf = httpx.get(f"{ui_server}/configuration.json").json()
    assert conf == {"accountAdministration": True, "apiBaseUrl": "/api"}


def test_the_api_answers_under_api_and_where_it_always_was(ui_server: str) -> None:
    for path in ("/api/v999.0/debug.ping", "/api/debug.ping", "/debug.ping", "/v2.23/debug.ping"):
        response = httpx.post(f"{ui_server}{path}", content="{}")
        assert response.status_code == 200, path
        assert response.json()["data"] == {"msg": "tasktrack server"}, path
    unknown = httpx.post(f"{ui_server}/api/v999.0/nothing.here", content="{}")
    assert unknown.status_code == 404
    assert unknown.json()["meta"]["result_msg"] == "Unknown endpoint: nothing.here"
    # A page path is the UI's only on GET: a POST there is the API's 404.
    assert httpx.post(f"{ui_server}/projects", content="{}").status_code == 404


def test_without_ui_nothing_is_served_but_the_api(server: str) -> None:
    for path in ("/", "/projects", "/configuration.json", "/api/v999.0/debug.ping"):
        response = httpx.get(f"{server}{path}")
        assert response.status_code == 404, path
        assert response.json()["meta"]["result_code"] == 404, path


def test_a_directory_without_a_built_ui_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [TASKTRACK, "serve", "--ui", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "not a built web UI" in result.stderr
