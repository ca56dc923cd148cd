"""uvicorn's httptools protocol with what it lacks: a deadline and a size cap on request heads,
and a deadline on request bodies (docs/reliability.md, Connection limits); a file server upload
(`/files`) has a deadline on its progress instead: each read must come within it.

uvicorn bounds idle keep-alive connections (`timeout_keep_alive`) and counts connections
(`limit_concurrency`), but once a byte has arrived it waits for the rest of a request head for
ever, and httptools accepts a head of any size: one slow client could hold a connection (and
count towards the limit) indefinitely. `tasktrack serve` runs this class instead
(`http="tasktrack.http.connections:GuardedHttpToolsProtocol"`), with the limits of Settings.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tasktrack.config import load_settings

log = logging.getLogger(__name__)

_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_LARGE_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


@functools.cache
def _limits() -> tuple[int, int, int]:
    """(head seconds, body seconds, head bytes): read once per process, at the first connection."""
    settings = load_settings()
    return (
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
        settings.max_header_bytes,
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One connection: a head must arrive within the head deadline of its first byte (or of the
    connection's start) and stay under the size cap; a body within the body deadline of its head.

    One timer per connection is enough, because a connection reads one request at a time: it is
    armed for the head (at connect, or at the first byte after the previous request), re-armed
    for the body when the head is complete, and disarmed when the request has been read. While
    the application works, and while uvicorn's keep-alive timer runs, it is off.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_seconds, self._body_seconds, self._max_head = _limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._head_bytes = 0
        self._progress_deadline = False

    def _arm(self, seconds: int, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _idle(self) -> bool:
        """No response is being produced on this connection (so one may be written)."""
        return self.cycle is None or self.cycle.response_complete

    def _close(self, answer: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._idle():
            self.transport.write(answer)
        self.transport.close()

    def _expired(self, what: str) -> None:
        self._deadline = None
        log.info("closing a connection from %s: %s not received in time", self.client, what)
        self._close(_TIMEOUT_408)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._head_seconds, "request head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._progress_deadline and not self._awaiting_head:
            # A file server upload (http/files.py) may take longer than the body deadline as a
            # whole: it must only keep coming, so each read starts the deadline again.
            self._arm(self._body_seconds, "request body")
        if self._awaiting_head:
            if self._deadline is None:
                self._arm(self._head_seconds, "request head")
            # Counted before the parser sees it: up to the blank line that ends the head, or
            # the whole read. (A second, pipelined head in the same read is counted from the
            # next read on.)
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end + 4
            if self._head_bytes > self._max_head:
                log.info("closing a connection from %s: request head over the cap", self.client)
                self._close(_TOO_LARGE_431)
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._progress_deadline = self.url.startswith(b"/files")
        self._arm(self._body_seconds, "request body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._awaiting_head = True
        self._progress_deadline = False
        super().on_message_complete()
