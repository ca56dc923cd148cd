"""The file server: ClearML's file server protocol under `/files` on the API's own port.

ClearML's SDK talks to it with plain HTTP (clearml/storage/helper.py, `_HttpDriver`): an upload
is a POST of a multipart form whose field name is the file's path, a download a GET of
`<files host>/<path>`, a delete a DELETE of the same URL, and ClearML's web UI deletes in batches
with a POST of `{"files": [...]}` to `delete_many`. Callers authenticate as on the API (the SDK
sends its bearer token), and each company has a folder of its own (store/file_store.py).

Bodies are streamed: an upload is parsed as it arrives (http/file_uploads.py) and a download
is read from disk a chunk at a time, so no file is ever held in memory. Each upload and delete
is a fact in the log (FileStored, FileDeleted in the company's files stream), recorded *before*
the bytes move: see docs/architecture.md, "The file server".
"""

from __future__ import annotations

import logging
import mimetypes
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus

import anyio.to_thread
import msgspec
import psycopg
from litestar import Request, Response, head, route
from litestar.enums import HttpMethod
from litestar.exceptions import InternalServerException
from litestar.response import Stream

from tasktrack.domain.errors import DomainError
from tasktrack.domain.files import FileTooLarge, parts_of
from tasktrack.http import envelope
from tasktrack.http.auth import Unauthorized
from tasktrack.http.file_uploads import BadUpload, client_for, receive
from tasktrack.http.ratelimit import TooManyFailures
from tasktrack.service import Caller
from tasktrack.service.core import DatabaseUnavailable, OutcomeUnknown

if TYPE_CHECKING:
    from tasktrack.http.app import AppState

log = logging.getLogger(__name__)

PREFIX = "/files"
ENDPOINT = "files"
READ_CHUNK = 1024 * 1024
# A delete_many body is a list of paths: the API's body limit is plenty.
_BATCH = msgspec.json.Decoder(dict[str, Any])


def _answer(code: int, msg: str, data: Any = None) -> Response[bytes]:
    body = envelope.encode(
        request_id=uuid.uuid4().hex, endpoint=ENDPOINT, version=None, data=data or {},
        code=code, msg=msg,
    )  # fmt: skip
    return Response(content=body, status_code=code, media_type="application/json")


def _ok(data: Any) -> Response[bytes]:
    """Success answers are ClearML file server's: plain JSON, no envelope."""
    return Response(
        content=msgspec.json.encode(data), status_code=200, media_type="application/json"
    )


# The cookie ClearML's web UI keeps its token in; a browser sends it with an <img> or a link.
TOKEN_COOKIE = "clearml_token_basic"  # noqa: S105 - a cookie name, not a secret


async def _caller(
    state: AppState, request: Request[Any, Any, Any], *, cookie: bool = False
) -> Caller:
    """Who calls: the Authorization header, as on the API; for a download (`cookie`) also
    the web UI's token cookie. Never the cookie for a change: a page of another site could
    otherwise make a visitor's browser upload or delete (cross-site request forgery)."""
    authorization = request.headers.get("authorization")
    token = request.cookies.get(TOKEN_COOKIE) if cookie else None
    if not authorization and token:
        authorization = f"Bearer {token}"
    address = request.client.host if request.client else ""
    return await anyio.to_thread.run_sync(state.auth.caller, authorization, address)


async def _download(state: AppState, caller: Caller, path: str, attach: bool) -> Response[Any]:
    parts = parts_of(path)
    fd, size = await anyio.to_thread.run_sync(state.files.open, caller.company, parts)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while data := await anyio.to_thread.run_sync(os.read, fd, READ_CHUNK):
                yield data
        finally:
            os.close(fd)

    media, encoding = mimetypes.guess_type(parts[-1])
    headers = {"Content-Length": str(size)}
    if attach:  # RFC 6266's encoded filename: any name, and nothing that could end the header
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(parts[-1])}"
    if media is None or encoding is not None:  # a .gz is served as is, not as its content
        media = "application/octet-stream"
    return Stream(chunks(), media_type=media, headers=headers)


def _delete(state: AppState, caller: Caller, path: str) -> str:
    parts = parts_of(path)
    with state.files.locked(caller.company):
        fd, _size = state.files.open(caller.company, parts)  # a regular file, or 404
        os.close(fd)
        client_for(state, caller).record_files_deleted(["/".join(parts)])
        state.files.remove(caller.company, parts)
    return path


def _delete_many(state: AppState, caller: Caller, body: bytes) -> dict[str, Any]:
    """ClearML's batch delete: files or whole folders; what cannot be deleted is listed by
    reason in `errors`, the rest in `deleted`."""
    try:
        files = _BATCH.decode(body).get("files")
    except msgspec.DecodeError:
        raise BadUpload('delete_many takes a JSON body {"files": [paths]}') from None
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise BadUpload("delete_many needs `files`: a list of paths")
    with state.files.locked(caller.company):
        return _delete_listed(state, caller, files)


def _delete_listed(state: AppState, caller: Caller, files: list[str]) -> dict[str, Any]:
    deleted: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    doomed: list[tuple[str, ...]] = []
    for file in files:
        path = unquote_plus(file)
        try:
            parts = parts_of(path)
            found = state.files.files_at(caller.company, parts)
        except DomainError as exc:
            errors.setdefault("Not found" if exc.code == 404 else exc.message, []).append(file)
            continue
        doomed += [tuple(f.split("/")) for f in found]
        deleted[file] = "/".join(parts)
    if doomed:
        client_for(state, caller).record_files_deleted(["/".join(p) for p in doomed])
        for parts in doomed:
            state.files.remove(caller.company, parts)
    return {"deleted": deleted, "errors": errors}


async def _read_small(request: Request[Any, Any, Any], limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FileTooLarge(f"Request body too large (limit {limit} bytes)")
    return bytes(body)


async def _guarded(call: Callable[[], Any]) -> Response[Any]:
    """Run a file server call and answer its errors in ClearML's envelope."""
    try:
        result: Response[Any] = await call()
        return result
    except Unauthorized as exc:
        return _answer(401, exc.message)
    except TooManyFailures as exc:
        return _answer(429, exc.message, {"retry_after": exc.retry_after})
    except DomainError as exc:
        return _answer(exc.code, exc.message)
    except OutcomeUnknown as exc:
        return _answer(503, str(exc))
    except (DatabaseUnavailable, psycopg.OperationalError) as exc:
        # Nothing was recorded, so nothing moved on disk (the log comes first): retry later.
        log.warning("database unavailable in the file server: %s", exc)
        return _answer(503, "Database unavailable; retry later")
    except InternalServerException:  # the client went away mid-body: nobody to answer
        return _answer(400, "Request body incomplete (the connection was closed)")


def routes(state: Callable[[], AppState]) -> list[Any]:
    """The file server's route handlers (the app's `state()` gives their AppState)."""
    paths = [PREFIX, PREFIX + "/", PREFIX + "/{path:path}"]

    @route(path=paths, http_method=[HttpMethod.POST], request_max_body_size=None, status_code=200)
    async def files_post(request: Request[Any, Any, Any], path: str = "") -> Response[Any]:
        async def call() -> Response[Any]:
            s = state()
            caller = await _caller(s, request)
            if path.strip("/") == "delete_many" and "json" in request.headers.get(
                "content-type", ""
            ):
                body = await _read_small(request, s.max_body_bytes)
                return _ok(await anyio.to_thread.run_sync(_delete_many, s, caller, body))
            return _ok(await receive(s, caller, request, path))

        return await _guarded(call)

    @route(path=paths, http_method=[HttpMethod.GET])
    async def files_get(request: Request[Any, Any, Any], path: str = "") -> Response[Any]:
        async def call() -> Response[Any]:
            s = state()
            caller = await _caller(s, request, cookie=True)
            if not path.strip("/"):  # ClearML's ping
                return Response(content=b"OK", media_type="text/plain")
            return await _download(s, caller, path, "download" in request.query_params)

        return await _guarded(call)

    @head(path=PREFIX + "/{path:path}")
    async def files_head(request: Request[Any, Any, Any], path: str) -> Response[None]:
        """Whether a file exists (the SDK's `exists_file`), and its size."""
        s = state()
        try:
            caller = await _caller(s, request, cookie=True)
            fd, size = await anyio.to_thread.run_sync(s.files.open, caller.company, parts_of(path))
        except Unauthorized:
            return Response(content=None, status_code=401)
        except TooManyFailures:
            return Response(content=None, status_code=429)
        except DomainError as exc:
            return Response(content=None, status_code=exc.code)
        os.close(fd)
        return Response(content=None, status_code=200, headers={"Content-Length": str(size)})

    @route(path=PREFIX + "/{path:path}", http_method=[HttpMethod.DELETE], status_code=200)
    async def files_delete(request: Request[Any, Any, Any], path: str) -> Response[Any]:
        async def call() -> Response[Any]:
            s = state()
            caller = await _caller(s, request)
            return _ok(await anyio.to_thread.run_sync(_delete, s, caller, path))

        return await _guarded(call)

    return [files_post, files_get, files_head, files_delete]
