"""The file server of `tasktrack serve` (/files): ClearML's protocol, per-company folders,
paths that never leave the folder, size limits, streaming, and its facts in the log."""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest.mock import ANY
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, text

from tasktrack.store.file_store import company_folder
from tests.e2e.cli import TASKTRACK
from tests.e2e.http import Api, serving


def _auth(api: Api) -> dict[str, str]:
    assert api.authorization
    return {"Authorization": api.authorization}


def _company(api: Api) -> str:
    return str(api.credential.company)  # type: ignore[attr-defined]


def upload(api: Api, files: dict[str, bytes], url_path: str = "") -> httpx.Response:
    parts = {name: (name, data) for name, data in files.items()}
    return httpx.post(f"{api.base}/files{url_path}", files=parts, headers=_auth(api), timeout=60)


def raw_upload(api: Api, name: bytes, data: bytes = b"x") -> int:
    """An upload whose field name is sent byte for byte (no client escaping)."""
    boundary = uuid.uuid4().hex
    body = (
        b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"" + name
        + b"\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data
        + b"\r\n--" + boundary.encode() + b"--\r\n"
    )  # fmt: skip
    headers = {**_auth(api), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return httpx.post(f"{api.base}/files", content=body, headers=headers).status_code


def raw_request(api: Api, method: str, path: str) -> tuple[int, bytes]:
    """A request whose path goes out exactly as written (httpx would normalise `..`)."""
    where = urlsplit(api.base)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        conn.request(method, path, headers=_auth(api))
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def get(api: Api, path: str) -> httpx.Response:
    return httpx.get(f"{api.base}/files/{path}", headers=_auth(api), timeout=60)


def _file_events(engine: Engine, company: str) -> list[tuple[str, dict[str, Any], str]]:
    stream = f"files:{len(company)}:{company}"
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, data, metadata FROM events WHERE stream_id = :s ORDER BY position"),
            {"s": stream},
        ).all()
    return [(str(t), dict(d), str(m["user"])) for t, d, m in rows]


def test_upload_download_delete_round_trip(api: Api, e2e_engine: Engine) -> None:
    data = os.urandom(100_000)
    answer = upload(api, {"proj/task.1/artifacts/a/data.bin": data})
    assert answer.status_code == 200, answer.text
    assert answer.json() == ["proj/task.1/artifacts/a/data.bin"]
    got = get(api, "proj/task.1/artifacts/a/data.bin")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-length"] == str(len(data))
    # Replacing a file is another upload.
    assert upload(api, {"proj/task.1/artifacts/a/data.bin": b"v2"}).status_code == 200
    assert get(api, "proj/task.1/artifacts/a/data.bin").content == b"v2"
    gone = httpx.delete(f"{api.base}/files/proj/task.1/artifacts/a/data.bin", headers=_auth(api))
    assert gone.status_code == 200
    assert get(api, "proj/task.1/artifacts/a/data.bin").status_code == 404
    again = httpx.delete(f"{api.base}/files/proj/task.1/artifacts/a/data.bin", headers=_auth(api))
    assert again.status_code == 404
    path = "proj/task.1/artifacts/a/data.bin"
    assert _file_events(e2e_engine, _company(api)) == [
        ("FileStored", {"event": "FileStored", "at": ANY, "by": "alice", "path": path,
                        "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, "alice"),
        ("FileStored", {"event": "FileStored", "at": ANY, "by": "alice", "path": path,
                        "size": 2, "sha256": hashlib.sha256(b"v2").hexdigest()}, "alice"),
        ("FileDeleted", {"event": "FileDeleted", "at": ANY, "by": "alice", "path": path},
         "alice"),
    ]  # fmt: skip


def test_the_url_path_is_a_folder_for_the_fields(api: Api) -> None:
    assert upload(api, {"b.txt": b"1", "c/d.txt": b"2"}, "/pre/fix").json() == [
        "pre/fix/b.txt",
        "pre/fix/c/d.txt",
    ]
    assert get(api, "pre/fix/c/d.txt").content == b"2"
    ping = httpx.get(f"{api.base}/files", headers=_auth(api))
    assert (ping.status_code, ping.text) == (200, "OK")


def test_callers_must_authenticate(api: Api) -> None:
    assert upload(api, {"secret.txt": b"s"}).status_code == 200
    assert httpx.get(f"{api.base}/files/secret.txt").status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert httpx.get(f"{api.base}/files/secret.txt", headers=bad).status_code == 401
    post = httpx.post(f"{api.base}/files", files={"x.txt": ("x.txt", b"x")})
    assert post.status_code == 401
    assert httpx.delete(f"{api.base}/files/secret.txt").status_code == 401
    assert get(api, "secret.txt").content == b"s"


def test_companies_never_see_each_others_files(
    new_caller: Callable[..., Api], files_dir: Path
) -> None:
    a, b = new_caller(), new_caller()
    assert upload(a, {"shared/name.txt": b"from a"}).status_code == 200
    assert get(b, "shared/name.txt").status_code == 404
    assert httpx.delete(f"{b.base}/files/shared/name.txt", headers=_auth(b)).status_code == 404
    assert upload(b, {"shared/name.txt": b"from b"}).status_code == 200
    assert get(a, "shared/name.txt").content == b"from a"
    assert get(b, "shared/name.txt").content == b"from b"
    assert (files_dir / company_folder(_company(a)) / "shared/name.txt").read_bytes() == b"from a"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the file server's, with a secret in it."""
    (tmp_path / "secret.txt").write_text("outside secret")
    return tmp_path


def test_upload_paths_never_leave_the_folder(api: Api, files_dir: Path, outside: Path) -> None:
    before = sorted(p.name for p in files_dir.parent.iterdir())
    for name in (b"../escape.txt", b"a/../../escape.txt", b"..", b"a/./b", b"a\\..\\escape.txt",
                 b"a\x00b", b"a\x01b", b"%s/../x" % str(outside).encode()):  # fmt: skip
        assert raw_upload(api, name) == 400, name
    # An absolute path is a path inside the company's folder (ClearML drops the leading /).
    assert raw_upload(api, str(outside / "secret.txt").encode(), b"overwritten?") == 200
    assert (outside / "secret.txt").read_text() == "outside secret"
    inside = files_dir / company_folder(_company(api)) / str(outside).lstrip("/") / "secret.txt"
    assert inside.read_bytes() == b"overwritten?"
    # A literal "%2e%2e%2f" in a field name is a name like any other, inside the folder.
    assert raw_upload(api, b"%2e%2e%2fx") == 200
    assert (files_dir / company_folder(_company(api)) / "%2e%2e%2fx").exists()
    assert sorted(p.name for p in files_dir.parent.iterdir()) == before


def test_url_paths_never_leave_the_folder(api: Api, files_dir: Path) -> None:
    # A file next to the company folders: what a traversal would reach.
    (files_dir / "beside.txt").write_text("beside")
    upload(api, {"a/b.txt": b"inside"})
    for path in (
        "/files/../beside.txt",
        "/files/a/../../beside.txt",
        "/files/%2e%2e/beside.txt",
        "/files/%2e%2e%2fbeside.txt",
        "/files/a%2f%2e%2e%2f%2e%2e%2fbeside.txt",
        "/files/a/%2e%2e%5c%2e%2e%5cbeside.txt",
        "/files/a%5cb.txt",
        "/files/a%00b.txt",
        "/files/" + str(files_dir / "beside.txt"),
    ):
        for method in ("GET", "DELETE"):
            status, body = raw_request(api, method, path)
            assert status in (400, 404), (method, path, status)
            assert b"beside" not in body
    assert (files_dir / "beside.txt").read_text() == "beside"
    assert get(api, "a/b.txt").content == b"inside"


def test_symlinks_in_the_folder_are_never_followed(
    api: Api, files_dir: Path, outside: Path
) -> None:
    upload(api, {"own.txt": b"own"})
    home = files_dir / company_folder(_company(api))
    (home / "linkdir").symlink_to(outside, target_is_directory=True)
    (home / "linkfile.txt").symlink_to(outside / "secret.txt")
    for path in ("linkdir/secret.txt", "linkfile.txt"):
        assert get(api, path).status_code == 404
        gone = httpx.delete(f"{api.base}/files/{path}", headers=_auth(api))
        assert gone.status_code == 404
    assert raw_upload(api, b"linkdir/new.txt") == 400
    assert raw_upload(api, b"linkfile.txt", b"clobber") == 400
    batch = httpx.post(
        f"{api.base}/files/delete_many",
        json={"files": ["linkdir", "linkfile.txt", "linkdir/secret.txt"]},
        headers=_auth(api),
    )
    assert batch.status_code == 200
    assert batch.json()["deleted"] == {}
    assert not (outside / "new.txt").exists()
    assert (outside / "secret.txt").read_text() == "outside secret"
    assert (home / "linkfile.txt").is_symlink()


def test_delete_many_deletes_files_and_folders(api: Api, e2e_engine: Engine) -> None:
    upload(api, {"run/1.bin": b"1", "run/sub/2.bin": b"2", "keep.bin": b"k"})
    answer = httpx.post(
        f"{api.base}/files/delete_many",
        json={"files": ["run", "missing.bin", "../x"]},
        headers=_auth(api),
    )
    assert answer.status_code == 200
    assert answer.json()["deleted"] == {"run": "run"}
    errors = answer.json()["errors"]
    assert errors["Not found"] == ["missing.bin"]
    assert sum(len(v) for v in errors.values()) == 2
    assert get(api, "run/sub/2.bin").status_code == 404
    assert get(api, "keep.bin").content == b"k"
    deleted = [
        d["path"] for t, d, _ in _file_events(e2e_engine, _company(api)) if t == "FileDeleted"
    ]
    assert deleted == ["run/1.bin", "run/sub/2.bin"]


def test_a_deleted_tasks_files_can_be_deleted_with_it(api: Api) -> None:
    upload(api, {"p/t/artifacts/model/weights.bin": b"w"})
    url = f"{api.base}/files/p/t/artifacts/model/weights.bin"
    task = api.ok("tasks.create", {"name": "with files", "type": "training"})["id"]
    artifact = {"key": "model", "type": "custom", "mode": "output", "uri": url}
    api.ok("tasks.add_or_update_artifacts", {"task": task, "artifacts": [artifact]})
    urls = api.ok("tasks.delete", {"task": task, "force": True, "return_file_urls": True})["urls"]
    assert urls["artifact_urls"] == [url]
    # What ClearML's web UI does with them: a batch delete of their paths.
    prefix = f"{api.base}/files/"
    files = [u.removeprefix(prefix) for u in urls["artifact_urls"]]
    done = httpx.post(f"{prefix}delete_many", json={"files": files}, headers=_auth(api))
    assert done.json()["deleted"] == {
        "p/t/artifacts/model/weights.bin": "p/t/artifacts/model/weights.bin"
    }
    assert get(api, "p/t/artifacts/model/weights.bin").status_code == 404


def test_a_malformed_upload_is_refused(api: Api) -> None:
    plain = httpx.post(f"{api.base}/files", content=b"{}", headers=_auth(api))
    assert plain.status_code == 400
    assert "multipart" in plain.json()["meta"]["result_msg"]
    headers = {**_auth(api), "Content-Type": "multipart/form-data; boundary=zz"}
    broken = httpx.post(f"{api.base}/files", content=b"garbage\r\n", headers=headers)
    assert broken.status_code == 400


# --- the size limit and streaming ----------------------------------------------------------

LIMIT = 1_000_000


@pytest.fixture(scope="module")
def small_server(
    e2e_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("small-files")
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_FILES_DIR": str(folder),
        "TASKTRACK_MAX_FILE_BYTES": str(LIMIT),
    }
    with serving(env) as base:
        yield base, folder


def _streamed(boundary: str, name: str, size: int) -> Iterator[bytes]:
    """A multipart body with one file of `size` generated bytes, never whole in memory."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * 4096  # 1 MiB
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def _streamed_digest(size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(range(256)) * 4096
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        digest.update(piece)
        sent += len(piece)
    return digest.hexdigest()


def test_an_upload_over_the_limit_is_refused_with_413(
    small_server: tuple[str, Path], new_caller: Callable[..., Api]
) -> None:
    base, folder = small_server
    api = new_caller()
    api.base = base
    # Announced too large: refused before the body is read.
    big = upload(api, {"big.bin": b"x" * (LIMIT + 1)})
    assert big.status_code == 413
    assert f"limit {LIMIT} bytes" in big.json()["meta"]["result_msg"]
    # Streamed without a length: refused when the limit is passed, and nothing is left behind.
    boundary = uuid.uuid4().hex
    headers = {**_auth(api), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    streamed = httpx.post(
        f"{base}/files", content=_streamed(boundary, "s.bin", 3 * LIMIT), headers=headers
    )
    assert streamed.status_code == 413
    assert "limit" in streamed.json()["meta"]["result_msg"]
    assert get(api, "s.bin").status_code == 404
    assert get(api, "big.bin").status_code == 404
    assert list((folder / ".incoming").iterdir()) == []
    assert upload(api, {"fits.bin": b"x" * 1000}).status_code == 200


def _rss_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (VmRSS: now; VmHWM: its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


class _RssWatch:
    """Samples a process's resident memory every 20 ms while a transfer runs: its peak there
    (VmHWM alone could hide growth under the peak start-up left behind)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid, "VmRSS"))
            self._stop.wait(0.02)

    def __enter__(self) -> _RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.timeout(600)
def test_a_large_upload_is_streamed_to_disk(
    e2e_database: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    """256 MiB in and out: the server's resident memory, sampled throughout, rises by far less
    than the file, and so does its peak."""
    size = 256 * 1024 * 1024
    pids: list[int] = []
    env = {"TASKTRACK_DATABASE_URL": e2e_database, "TASKTRACK_FILES_DIR": str(tmp_path)}
    with serving(env, pids=pids) as base:
        api = new_caller()
        api.base = base
        assert upload(api, {"warm.txt": b"warm"}).status_code == 200
        assert get(api, "warm.txt").content == b"warm"
        pid = pids[0]
        before, peak_before = _rss_kib(pid, "VmRSS"), _rss_kib(pid, "VmHWM")
        boundary = uuid.uuid4().hex
        headers = {**_auth(api), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        with _RssWatch(pid) as watch:
            answer = httpx.post(
                f"{base}/files",
                content=_streamed(boundary, "big/file.bin", size),
                headers=headers,
                timeout=300,
            )
            assert answer.status_code == 200, answer.text
            digest = hashlib.sha256()
            with httpx.stream(
                "GET", f"{base}/files/big/file.bin", headers=_auth(api), timeout=300
            ) as r:
                assert r.status_code == 200
                for chunk in r.iter_bytes():
                    digest.update(chunk)
        stored = tmp_path / company_folder(_company(api)) / "big/file.bin"
        assert stored.stat().st_size == size
        assert digest.hexdigest() == _streamed_digest(size)
        grown_mib = (max(watch.peak, _rss_kib(pid, "VmHWM")) - max(before, peak_before)) / 1024
        sampled_mib = (watch.peak - before) / 1024
        print(
            f"256 MiB up and down: resident memory rose by at most {sampled_mib:.1f} MiB "
            f"(sampled), the peak by {grown_mib:.1f} MiB"
        )
        assert sampled_mib < 48, f"memory rose by {sampled_mib:.0f} MiB for a 256 MiB file"
        assert grown_mib < 48, f"peak memory grew by {grown_mib:.0f} MiB for a 256 MiB file"


def test_the_web_uis_cookie_reads_but_never_changes(api: Api) -> None:
    upload(api, {"img/a.png": b"png"})
    token = api.ok("auth.login", {})["token"]
    cookies = {"clearml_token_basic": token}
    got = httpx.get(f"{api.base}/files/img/a.png", cookies=cookies)
    assert (got.status_code, got.content) == (200, b"png")
    gone = httpx.delete(f"{api.base}/files/img/a.png", cookies=cookies)
    assert gone.status_code == 401
    post = httpx.post(f"{api.base}/files", files={"b.png": ("b.png", b"b")}, cookies=cookies)
    assert post.status_code == 401
    assert get(api, "img/a.png").content == b"png"
    assert get(api, "b.png").status_code == 404


def test_concurrent_uploads_of_one_path_land_in_the_order_of_the_log(
    api: Api, e2e_engine: Engine, files_dir: Path
) -> None:
    bodies = [os.urandom(50_000) for _ in range(12)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda b: upload(api, {"race/same.bin": b}), bodies))
    assert all(a.status_code == 200 for a in answers)
    stored = [d for t, d, _ in _file_events(e2e_engine, _company(api)) if t == "FileStored"]
    assert len(stored) == len(bodies)
    on_disk = (files_dir / company_folder(_company(api)) / "race/same.bin").read_bytes()
    assert stored[-1]["sha256"] == hashlib.sha256(on_disk).hexdigest()


def test_a_slow_upload_that_keeps_coming_is_not_cut_off(
    e2e_database: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    """An API body must arrive within the body deadline; an upload only has to keep coming:
    dripped over more than twice the deadline it is stored, stalled past it it is cut off."""
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_FILES_DIR": str(tmp_path),
        "TASKTRACK_BODY_TIMEOUT_SECONDS": "2",
    }
    with serving(env) as base:
        api = new_caller()
        api.base = base
        boundary = uuid.uuid4().hex
        headers = {**_auth(api), "Content-Type": f"multipart/form-data; boundary={boundary}"}

        started = time.monotonic()
        answer = httpx.post(
            f"{base}/files", content=_drip(boundary, 0.5, 10), headers=headers, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - started > 4
        assert get(api, "slow.bin").content == b"a" * 10
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"{base}/files", content=_drip(boundary, 4, 1), headers=headers, timeout=30)


def _drip(boundary: str, pause: float, pieces: int) -> Iterator[bytes]:
    """A one-file upload of `pieces` bytes "a", one byte every `pause` seconds."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="slow.bin"; filename="slow.bin"'
        "\r\n\r\n"
    ).encode()
    for _ in range(pieces):
        time.sleep(pause)
        yield b"a"
    yield f"\r\n--{boundary}--\r\n".encode()


def test_head_says_whether_a_file_exists(new_caller: Callable[..., Api]) -> None:
    a, b = new_caller(), new_caller()
    upload(a, {"h/file.bin": b"12345"})
    there = httpx.head(f"{a.base}/files/h/file.bin", headers=_auth(a))
    assert (there.status_code, there.headers["content-length"]) == (200, "5")
    assert httpx.head(f"{a.base}/files/h/none.bin", headers=_auth(a)).status_code == 404
    assert httpx.head(f"{b.base}/files/h/file.bin", headers=_auth(b)).status_code == 404
    assert httpx.head(f"{a.base}/files/h/file.bin").status_code == 401


def test_a_download_as_attachment_names_any_file_safely(api: Api) -> None:
    name = 'dir/日本 "x";.txt'
    assert upload(api, {name: b"n"}).status_code == 200
    got = httpx.get(f"{api.base}/files/{name}", params={"download": ""}, headers=_auth(api))
    assert got.status_code == 200
    assert got.content == b"n"
    disposition = got.headers["content-disposition"]
    assert disposition == "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%22x%22%3B.txt"


@pytest.mark.parametrize("how", ["data dir", "--files-dir"])
def test_where_the_files_go(
    how: str, e2e_database: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    """By default `files` in the data directory; `serve --files-dir` (or TASKTRACK_FILES_DIR)
    names another folder."""
    env = {"TASKTRACK_DATABASE_URL": e2e_database, "TASKTRACK_DATA_DIR": str(tmp_path / "data")}
    args = ["--files-dir", str(tmp_path / "elsewhere")] if how == "--files-dir" else []
    with serving(env, args=args) as base:
        api = new_caller()
        api.base = base
        assert upload(api, {"where.txt": b"here"}).status_code == 200
    root = tmp_path / ("elsewhere" if args else "data/files")
    assert (root / company_folder(_company(api)) / "where.txt").read_bytes() == b"here"


def test_files_verify_compares_the_folder_with_the_log(
    e2e_database: str, new_caller: Callable[..., Api], tmp_path: Path
) -> None:
    """`tasktrack files verify` (after restoring a backup, say): what the log recorded is on
    disk with the recorded hash; anything missing, different or unrecorded is named, exit 1."""
    env = {"TASKTRACK_DATABASE_URL": e2e_database, "TASKTRACK_FILES_DIR": str(tmp_path)}
    with serving(env) as base:
        api = new_caller()
        api.base = base
        upload(api, {"keep.txt": b"keep", "gone.txt": b"gone", "changed.txt": b"v1"})
        httpx.delete(f"{base}/files/gone.txt", headers=_auth(api))
    company = _company(api)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TASKTRACK, "files", "verify", "--company", company, "--files-dir", str(tmp_path)],
            env={**os.environ, "TASKTRACK_DATABASE_URL": e2e_database},
            capture_output=True,
            text=True,
            check=False,
        )

    ok = verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 files of 1 companies match the log" in ok.stdout
    home = tmp_path / company_folder(company)
    (home / "changed.txt").write_bytes(b"v2")
    (home / "keep.txt").unlink()
    (home / "stray.txt").write_bytes(b"?")
    bad = verify()
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["different", "missing", "unrecorded"]
    assert all(line.startswith(company + ": ") for line in lines)
