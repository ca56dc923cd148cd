"""The file server's uploads: a multipart body parsed as it streams in, each file written to
disk chunk by chunk, counted against the size limit, recorded in the log, then put in place.

Litestar's own form parser reads the whole body into memory; python-multipart (a maintained
streaming parser, Starlette's) calls back per piece instead, so no upload is held in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread
from litestar import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from tasktrack.api import Client
from tasktrack.domain.errors import DomainError
from tasktrack.domain.files import FileTooLarge, parts_of
from tasktrack.service import Caller
from tasktrack.store.file_store import Upload

if TYPE_CHECKING:
    from tasktrack.http.app import AppState


class BadUpload(DomainError):
    """A POST that is not a multipart form, or whose form cannot be parsed."""

    code = 400
    subcode = 0


class _Receiver:
    """Turns python-multipart's callbacks into files: the callbacks (synchronous, inside
    `parser.write`) only note what they saw; `drain` then does the disk work off the loop."""

    def __init__(self, state: AppState, caller: Caller, prefix: tuple[str, ...]) -> None:
        self.state = state
        self.caller = caller
        self.prefix = prefix
        self.seen: list[tuple[str, Any]] = []
        self.stored: list[str] = []
        self.upload: Upload | None = None
        self.parts: tuple[str, ...] = ()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Callable[..., None]]:
        def part_begin() -> None:
            self._headers = {}

        def header_field(data: bytes, start: int, end: int) -> None:
            self._field += data[start:end]

        def header_value(data: bytes, start: int, end: int) -> None:
            self._value += data[start:end]

        def header_end() -> None:
            self._headers[bytes(self._field).lower()] = bytes(self._value)
            self._field.clear()
            self._value.clear()

        def headers_finished() -> None:
            self.seen.append(("part", self._headers.get(b"content-disposition", b"")))

        def part_data(data: bytes, start: int, end: int) -> None:
            self.seen.append(("data", bytes(data[start:end])))

        def part_end() -> None:
            self.seen.append(("end", None))

        return {
            "on_part_begin": part_begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_headers_finished": headers_finished,
            "on_part_data": part_data,
            "on_part_end": part_end,
        }

    async def drain(self) -> None:
        seen, self.seen = self.seen, []
        for what, value in seen:
            if what == "part":
                await self._begin(value)
            elif what == "data" and self.upload is not None:
                await anyio.to_thread.run_sync(self.upload.write, value)
            elif what == "end" and self.upload is not None:
                await anyio.to_thread.run_sync(self._finish)

    async def _begin(self, disposition: bytes) -> None:
        _kind, options = parse_options_header(disposition)
        # As ClearML's file server: only parts that carry a file (a filename) are stored; the
        # field's name is the file's path (below the URL's path, if the POST named one).
        name = _html5_unescaped(options.get(b"name", b"").decode("utf-8", "replace"))
        if b"filename" not in options or not name:
            return
        self.parts = self.prefix + parts_of(name)
        store = self.state.files
        await anyio.to_thread.run_sync(store.check_target, self.caller.company, self.parts)
        self.upload = await anyio.to_thread.run_sync(store.begin)

    def _finish(self) -> None:
        """Record the upload, then put it in place (the log first: docs/architecture.md)."""
        upload, self.upload = self.upload, None
        assert upload is not None
        store, company = self.state.files, self.caller.company
        path = "/".join(self.parts)
        with store.locked(company):
            try:
                upload.close()
                store.check_target(company, self.parts)
                client = client_for(self.state, self.caller)
                client.record_file_stored(path, upload.size, upload.sha256)
                store.place(upload, company, self.parts)
            except BaseException:
                upload.discard()  # never placed: the partial file goes (placed: nothing to do)
                raise
        self.stored.append(path)

    def abort(self) -> None:
        if self.upload is not None:
            self.upload.discard()
            self.upload = None


def _html5_unescaped(name: str) -> str:
    """A field name as the form had it: HTML5's multipart encoding (which requests, and so the
    SDK, and httpx follow) writes `"`, CR and LF in names as %22, %0D and %0A, and nothing
    else; every other `%` is the name's own."""
    return name.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


async def receive(
    state: AppState, caller: Caller, request: Request[Any, Any, Any], path: str
) -> list[str]:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadUpload("An upload is a multipart/form-data POST (a file per field)")
    limit = state.max_file_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:  # refused before a byte is read
        raise FileTooLarge(f"Upload too large: {length} bytes (limit {limit} bytes)")
    receiver = _Receiver(state, caller, parts_of(path) if path.strip("/") else ())
    parser = MultipartParser(boundary, cast(Any, receiver.callbacks()))
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(f"Upload too large: over the limit of {limit} bytes")
            parser.write(chunk)
            await receiver.drain()
        parser.finalize()
        await receiver.drain()
    except MultipartParseError as exc:
        raise BadUpload(f"Malformed multipart body: {exc}") from None
    finally:
        await anyio.to_thread.run_sync(receiver.abort)
    return receiver.stored


def client_for(state: AppState, caller: Caller) -> Client:
    """The caller's Client, to record what the file server did."""
    return Client(state.db.engine, caller, state.service, read_timeout_ms=state.read_timeout_ms)
