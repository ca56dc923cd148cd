"""The file server's folder on disk and its facts in the log (PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.files import BadFilePath, FileNotFound
from tasktrack.store.file_store import FileStore, company_folder


def _events(engine: Engine, company: str) -> list[tuple[int, str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT stream_version, type, data FROM events"
                " WHERE stream_id = :s ORDER BY stream_version"
            ),
            {"s": f"files:{len(company)}:{company}"},
        ).all()
    return [(int(v), str(t), dict(d)) for v, t, d in rows]


def test_uploads_and_deletes_are_facts_of_the_companys_files_stream(
    client: Client, company: str, engine: Engine
) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert client.record_file_stored("/a//b.bin", 1, sha) == {"path": "a/b.bin"}
    client.record_files_deleted(["a/b.bin", "c/d"])
    got = _events(engine, company)
    assert [(v, t, d["path"], d["by"]) for v, t, d in got] == [
        (1, "FileStored", "a/b.bin", "alice"),
        (2, "FileDeleted", "a/b.bin", "alice"),
        (3, "FileDeleted", "c/d", "alice"),
    ]
    assert (got[0][2]["size"], got[0][2]["sha256"]) == (1, sha)


def test_a_bad_path_records_nothing(client: Client, company: str, engine: Engine) -> None:
    with pytest.raises(BadFilePath):
        client.record_file_stored("../x", 1, "0" * 64)
    with pytest.raises(BadFilePath):
        client.record_files_deleted(["ok", "a/../../b"])
    assert _events(engine, company) == []


def test_companies_have_streams_of_their_own(client: Client, engine: Engine) -> None:
    other = client.as_caller("files-other", "bob")
    client.record_file_stored("same", 1, "0" * 64)
    other.record_file_stored("same", 2, "1" * 64)
    assert [d["by"] for _, _, d in _events(engine, "files-other")] == ["bob"]


def test_an_upload_is_placed_whole_and_a_discarded_one_leaves_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    upload = store.begin()
    upload.write(b"part one, ")
    upload.write(b"part two")
    assert upload.sha256 == hashlib.sha256(b"part one, part two").hexdigest()
    store.check_target("co", ("a", "b.txt"))
    store.place(upload, "co", ("a", "b.txt"))
    fd, size = store.open("co", ("a", "b.txt"))
    os.close(fd)
    assert size == len(b"part one, part two")
    broken = store.begin()
    broken.write(b"half")
    broken.discard()
    assert list((tmp_path / "files" / ".incoming").iterdir()) == []
    assert (tmp_path / "files" / "co-co" / "a" / "b.txt").read_bytes() == b"part one, part two"


def test_links_are_neither_followed_nor_listed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    store = FileStore(tmp_path / "files")
    upload = store.begin()
    upload.write(b"1")
    store.place(upload, "co", ("dir", "real"))
    home = tmp_path / "files" / company_folder("co")
    (home / "dir" / "link").symlink_to(outside / "secret")
    (home / "dir" / "linkdir").symlink_to(outside, target_is_directory=True)
    assert store.files_at("co", ("dir",)) == ["dir/real"]
    with pytest.raises(FileNotFound):
        store.open("co", ("dir", "link"))
    with pytest.raises(FileNotFound):
        store.open("co", ("dir", "linkdir", "secret"))
    with pytest.raises(BadFilePath):
        store.check_target("co", ("dir", "linkdir", "new"))
    with pytest.raises(BadFilePath):
        store.check_target("co", ("dir", "link"))
    store.remove("co", ("dir", "link"))
    assert (home / "dir" / "link").is_symlink()
    assert (outside / "secret").read_text() == "s"


@pytest.mark.parametrize("company", ["..", ".", "a/b", "x" * 300, ".incoming"])
def test_a_company_folder_is_one_name_of_its_own(company: str) -> None:
    name = company_folder(company)
    assert "/" not in name
    assert name not in (".", "..", ".incoming")
    assert len(name) <= 200
    assert company_folder(company + "y") != name
