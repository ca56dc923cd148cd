"""Driving `tasktrack serve` over HTTP as a client would."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from tests.e2e.cli import TASKTRACK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: Mapping[str, str], *, workers: int = 1, args: Sequence[str] = ()) -> Iterator[str]:
    """Run `tasktrack serve` (with `args`) on a free port; yield its base URL; stop it
    afterwards."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    full.update(env)
    # Its output goes to a file, not a pipe nobody reads: a server that logs a lot (a flood of
    # tracebacks) would otherwise block on a full pipe and hang the test.
    with tempfile.TemporaryFile(mode="w+") as output:
        proc = subprocess.Popen(
            [TASKTRACK, "serve", "--port", str(port), "--workers", str(workers), *args],
            env=full,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    output.seek(0)
                    raise RuntimeError(f"tasktrack serve exited: {output.read()}")
                try:
                    with httpx.Client(timeout=1) as probe:
                        up = probe.get(f"{base}/debug.ping").status_code == 200
                    if up:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("tasktrack serve did not come up")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def basic(access_key: str, secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{access_key}:{secret_key}".encode()).decode()


class Api:
    """One caller's view of the server: `api.call("tasks.create", {...})`."""

    def __init__(self, base: str, authorization: str | None) -> None:
        self.base = base
        self.authorization = authorization
        self.http = httpx.Client(base_url=base, timeout=30)

    def close(self) -> None:
        self.http.close()

    def raw(
        self,
        endpoint: str,
        content: bytes | str = b"",
        *,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if self.authorization:
            all_headers["Authorization"] = self.authorization
        return self.http.request(method, f"/{endpoint}", content=content, headers=all_headers)

    def call(self, endpoint: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, envelope); checks the envelope is complete and agrees with the status."""
        import json

        response = self.raw(endpoint, json.dumps(body if body is not None else {}), **kw)
        envelope = response.json()
        meta = envelope["meta"]
        assert meta["result_code"] == response.status_code
        assert {"result_subcode", "result_msg", "id", "endpoint"} <= set(meta)
        return response.status_code, envelope

    def ok(self, endpoint: str, body: Any = None, **kw: Any) -> Any:
        status, envelope = self.call(endpoint, body, **kw)
        assert status == 200, envelope["meta"]
        return envelope["data"]

    def error(self, endpoint: str, body: Any = None, **kw: Any) -> tuple[int, int, str]:
        status, envelope = self.call(endpoint, body, **kw)
        meta = envelope["meta"]
        assert status != 200, envelope
        return meta["result_code"], meta["result_subcode"], meta["result_msg"]
