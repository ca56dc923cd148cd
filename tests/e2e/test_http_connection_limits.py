"""`tasktrack serve` bounds what a connection may hold: a slow or oversized request head, a
stalled body, an idle keep-alive connection, and the number of open connections.

Raw sockets on loopback against a real server with small limits; every loop is bounded.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.e2e.http import serving

HEAD_SECONDS = 1
BODY_SECONDS = 2
KEEP_ALIVE_SECONDS = 1
MAX_HEAD = 8192
MAX_CONNECTIONS = 6
SLACK = 2.0  # seconds allowed past a deadline on a busy 2-core machine


@pytest.fixture(scope="module")
def limited(e2e_database: str) -> Iterator[tuple[str, int]]:
    env = {
        "TASKTRACK_DATABASE_URL": e2e_database,
        "TASKTRACK_HEADER_TIMEOUT_SECONDS": str(HEAD_SECONDS),
        "TASKTRACK_BODY_TIMEOUT_SECONDS": str(BODY_SECONDS),
        "TASKTRACK_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE_SECONDS),
        "TASKTRACK_MAX_HEADER_BYTES": str(MAX_HEAD),
        "TASKTRACK_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    with serving(env) as base:
        yield base, int(base.rsplit(":", 1)[1])


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(0.2)
    return sock


def _closed_after(sock: socket.socket, limit: float, drip: bytes = b"") -> tuple[float, bytes]:
    """Seconds until the server closes `sock` (sending `drip` every 0.2 s meanwhile) and what
    it sent; fails if it is still open after `limit` seconds."""
    start = time.monotonic()
    received = b""
    while time.monotonic() - start < limit:
        try:
            if drip:
                sock.sendall(drip)
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start, received
        if not chunk:
            return time.monotonic() - start, received
        received += chunk
    pytest.fail(f"the connection was still open after {limit} s (received {received!r})")


def _ping(base: str) -> int:
    with httpx.Client(timeout=10) as client:
        return client.get(f"{base}/debug.ping").status_code


def test_a_slow_head_is_cut_off_while_others_are_served(limited: tuple[str, int]) -> None:
    """Slowloris: ten connections that each send a header byte every 0.2 s, never finishing."""
    base, port = limited
    with ExitStack() as stack:
        slow = [stack.enter_context(_connect(port)) for _ in range(3)]
        for sock in slow:
            sock.sendall(b"POST /debug.ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert _ping(base) == 200  # others are answered meanwhile
        for sock in slow:
            took, sent = _closed_after(sock, HEAD_SECONDS + SLACK, drip=b"a")
            assert sent.startswith(b"HTTP/1.1 408"), sent
            assert took <= HEAD_SECONDS + SLACK
    assert _ping(base) == 200


def test_a_connection_that_sends_nothing_is_closed(limited: tuple[str, int]) -> None:
    _, port = limited
    with _connect(port) as sock:
        took, sent = _closed_after(sock, HEAD_SECONDS + SLACK)
    assert sent.startswith(b"HTTP/1.1 408"), sent
    assert took >= HEAD_SECONDS - 0.5


def test_an_oversized_head_is_refused_and_one_under_the_cap_served(
    limited: tuple[str, int],
) -> None:
    base, port = limited
    with httpx.Client(timeout=10) as client:
        fits = client.get(f"{base}/debug.ping", headers={"X-Pad": "a" * (MAX_HEAD - 500)})
    assert fits.status_code == 200
    with _connect(port) as sock:
        sock.sendall(b"GET /debug.ping HTTP/1.1\r\nHost: x\r\n")
        pad = b"X-Pad-%d: " + b"a" * 1000 + b"\r\n"
        sent = b""
        for n in range(4 * MAX_HEAD // 1000):  # a head four times the cap, a line at a time
            try:
                sock.sendall(pad % n)
            except (ConnectionResetError, BrokenPipeError):
                break
        _, sent = _closed_after(sock, SLACK)
    assert sent.startswith(b"HTTP/1.1 431"), sent
    with _connect(port) as sock:  # the same, in one piece
        sock.sendall(b"GET /debug.ping HTTP/1.1\r\nX-Pad: " + b"a" * 2 * MAX_HEAD + b"\r\n\r\n")
        _, sent = _closed_after(sock, SLACK)
    assert sent.startswith(b"HTTP/1.1 431"), sent


def test_a_stalled_body_is_cut_off(limited: tuple[str, int]) -> None:
    base, port = limited
    with _connect(port) as sock:
        sock.sendall(
            b"POST /debug.ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        took, _ = _closed_after(sock, BODY_SECONDS + SLACK)
    assert took >= BODY_SECONDS - 0.5  # the head deadline no longer applied
    assert _ping(base) == 200


def test_an_idle_keep_alive_connection_is_closed(limited: tuple[str, int]) -> None:
    _, port = limited
    with _connect(port) as sock:
        sock.sendall(b"GET /debug.ping HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 10
        answer = b""
        while b"tasktrack server" not in answer and time.monotonic() < deadline:
            try:
                answer += sock.recv(4096)
            except TimeoutError:
                continue
        assert answer.startswith(b"HTTP/1.1 200"), answer
        took, _ = _closed_after(sock, KEEP_ALIVE_SECONDS + SLACK)
    assert took <= KEEP_ALIVE_SECONDS + SLACK


def test_past_the_connection_limit_requests_get_503_until_connections_go(
    limited: tuple[str, int],
) -> None:
    base, port = limited
    with ExitStack() as stack:
        for _ in range(MAX_CONNECTIONS):
            stack.enter_context(_connect(port))
        time.sleep(0.2)  # let the server accept them
        assert _ping(base) == 503
        start = time.monotonic()
        # The idle ones are closed at the head deadline; then the server answers again.
        while _ping(base) != 200:
            assert time.monotonic() - start < HEAD_SECONDS + SLACK
            time.sleep(0.1)
