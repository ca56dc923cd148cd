"""ClearML's SDK with its default destination, tasktrack's file server (CLEARML_FILES_HOST at
`<server>/files`): artifacts, model weights, debug images and StorageManager round-trip, and
the SDK's Task.delete deletes the task's files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import Engine, text

from tasktrack.store.file_store import company_folder
from tests.e2e.http import Api

pytest.importorskip("clearml", reason="the clearml SDK is in the test extras")

from tests.e2e.sdk import Sdk
from tests.e2e.test_clearml_sdk import _printed


@pytest.fixture
def sdk(server: str, new_caller: Callable[..., Api], tmp_path: Path) -> Sdk:
    return Sdk(server, new_caller(user="sdk-user"), tmp_path, subprocess_reporting=False)


def _home(sdk: Sdk, files_dir: Path) -> Path:
    return files_dir / company_folder(sdk.api.credential.company)  # type: ignore[attr-defined]


def _facts(engine: Engine, company: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT type, data->>'path', data->>'by' FROM events"
                " WHERE stream_id = :s ORDER BY position"
            ),
            {"s": f"files:{len(company)}:{company}"},
        ).all()
    return [(str(t), str(p), str(b)) for t, p, b in rows]


def test_artifacts_weights_images_and_storage_round_trip(
    sdk: Sdk, server: str, files_dir: Path, e2e_engine: Engine
) -> None:
    done, task_id = sdk.run("files.py", str(sdk.home / "work"))
    assert done.returncode == 0, done.stderr
    prefix = f"{server}/files/"
    uris = _printed(done, "ARTIFACT_URIS")
    assert set(uris) == {"table", "blob"}
    assert all(u.startswith(prefix) and task_id in u for u in uris.values())
    assert _printed(done, "TABLE") == {"a": 1, "b": [2, 3]}
    assert _printed(done, "BLOB_SAME") is True
    model_id, model_url = _printed(done, "MODEL")
    assert model_url.startswith(prefix)
    assert _printed(done, "WEIGHTS_SAME") is True
    image_url = _printed(done, "IMAGE_URL")
    assert image_url.startswith(prefix)
    assert _printed(done, "IMAGE_BYTES") > 0
    media_url = _printed(done, "MEDIA_URL")
    assert media_url.startswith(prefix)
    assert _printed(done, "MEDIA") == "media bytes"
    assert _printed(done, "UPLOADED") == f"{prefix}manual/notes/note.txt"
    assert _printed(done, "EXISTS") == [True, False]
    assert _printed(done, "NOTE") == "a note for the file server"
    # The bytes are in the company's folder, each upload a FileStored by the SDK's user.
    home = _home(sdk, files_dir)
    for url in (*uris.values(), model_url, image_url, media_url):
        assert (home / unquote(url.removeprefix(prefix))).is_file(), url
    company = sdk.api.credential.company  # type: ignore[attr-defined]
    stored = {
        p for t, p, by in _facts(e2e_engine, company) if t == "FileStored" and by == "sdk-user"
    }
    assert {
        unquote(u.removeprefix(prefix)) for u in (*uris.values(), model_url, image_url, media_url)
    } <= stored
    assert "manual/notes/note.txt" in stored
    model = sdk.api.ok("models.get_by_id", {"model": model_id})["model"]
    assert model["uri"] == model_url


def test_the_sdks_task_delete_deletes_its_files(
    sdk: Sdk, server: str, files_dir: Path, e2e_engine: Engine
) -> None:
    done, task_id = sdk.run("delete_files.py", str(sdk.home / "work"))
    assert done.returncode == 0, done.stderr
    url = _printed(done, "URL")
    assert _printed(done, "DELETED") is True
    path = unquote(url.removeprefix(f"{server}/files/"))
    assert ("FileStored", path, "sdk-user") in _facts(e2e_engine, sdk.api.credential.company)  # type: ignore[attr-defined]
    assert not (_home(sdk, files_dir) / path).exists()
    company = sdk.api.credential.company  # type: ignore[attr-defined]
    assert ("FileDeleted", path, "sdk-user") in _facts(e2e_engine, company)
    status, _ = sdk.api.call("tasks.get_by_id", {"task": task_id})
    assert status == 400
