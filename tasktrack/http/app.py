"""The ASGI application: one dispatcher for `/<service>.<action>` and `/v2.<minor>/…`.

Litestar (see docs/architecture.md for the choice) gives the ASGI plumbing, the body size limit
and the lifespan; the ClearML protocol itself (GET or POST with a JSON body, the envelope on
every answer, subcodes) is ours, so one route dispatches to the endpoint table. The service is
synchronous: each call runs in a worker thread.
"""

from __future__ import annotations

import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
import msgspec
import psycopg
import sqlalchemy.exc
from litestar import Litestar, Request, Response, get, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from tasktrack.api import Client, start
from tasktrack.config import Settings, load_settings
from tasktrack.domain.errors import DomainError, ImpersonationRefused, InvalidRequest
from tasktrack.http import envelope, files, session, versions
from tasktrack.http.auth import Authenticator, Unauthorized
from tasktrack.http.bodies import decode
from tasktrack.http.calls import Answered, Call, Spec
from tasktrack.http.endpoints import ENDPOINTS
from tasktrack.http.limits import Limits
from tasktrack.http.openapi import openapi_document
from tasktrack.http.ratelimit import FailureLimiter, TooManyFailures
from tasktrack.http.webui import API_PREFIX, WebUI
from tasktrack.service import TaskService
from tasktrack.service.core import DatabaseUnavailable, OutcomeUnknown
from tasktrack.store.engine import Database, open_database
from tasktrack.store.file_store import FileStore

log = logging.getLogger(__name__)

# Any /v<major>.<minor>/ is served: a version above the newest is served as the newest, as
# ClearML's server does by default (check_max_version: false; its web UI and test suite ask for
# v999.0), and meta.endpoint.actual_version says which version answered.
_VERSIONED = re.compile(r"^v\d+\.\d+$")


class AppState(msgspec.Struct, kw_only=True):
    """What the dispatcher needs, built in the lifespan (nothing at import)."""

    db: Database
    service: TaskService
    auth: Authenticator
    openapi: bytes
    limits: Limits
    read_timeout_ms: int
    # The file server (http/files.py): its folder and limits.
    files: FileStore
    max_file_bytes: int
    max_body_bytes: int


def _parse(path: str) -> tuple[str, str | None] | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) == 1:
        return parts[0], None
    if len(parts) == 2 and _VERSIONED.match(parts[0]):
        return parts[1], parts[0][1:]
    return None


def _under_api(path: str) -> str | None:
    """`path` without its leading /api, or None for a path outside /api/."""
    stripped = path.lstrip("/")
    if stripped == API_PREFIX or stripped.startswith(API_PREFIX + "/"):
        return stripped[len(API_PREFIX) :]
    return None


def _respond(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=body, status_code=status, media_type="application/json", headers=headers
    )


# A JSON escape of NUL: an odd number of backslashes before u0000 (an even number is an escaped
# backslash followed by the text "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_free(body: bytes) -> None:
    # PostgreSQL text cannot hold NUL characters: refuse them up front instead of failing deep.
    if _NUL_ESCAPE.search(body):
        raise InvalidRequest("Validation error: strings may not contain NUL (\\u0000) characters")


# ClearML's headers for acting as another user (its admins may; tasktrack's credentials never).
_IMPERSONATION = tuple(
    f"x-{brand}-{what}"
    for brand in ("clearml", "trains", "allegro")
    for what in ("impersonate-as", "act-as")
)


def _no_impersonation(headers: dict[str, str]) -> None:
    # Ignoring the header would act as the caller while the client believes it acts as someone
    # else, and the log would record an actor the client did not mean: refuse instead.
    asked = [h for h in _IMPERSONATION if headers.get(h)]
    if asked:
        raise ImpersonationRefused(
            "Impersonation error: tasktrack credentials act only as their own user",
            headers=asked,
        )


def _run(state: AppState, spec: Spec, body: bytes, headers: dict[str, str], address: str) -> Any:
    """The synchronous part of a call (runs in a worker thread)."""
    if spec.anonymous:
        try:
            authorization = session.authorization(headers)
        except Unauthorized:  # a cookie it may not use: as if none was sent
            authorization = None
        call = Call(auth=state.auth, authorization=authorization, address=address)
        return spec.run(call, decode(spec, body))
    # The Authorization header, or the web UI's session cookie (http/session.py).
    authorization = session.authorization(headers)
    caller = state.auth.caller(authorization, address)
    _no_impersonation(headers)
    if spec.body == "json":  # event bodies are checked event by event (domain/reports.py)
        _nul_free(body)
    payload = decode(spec, body, state.limits)
    client = Client(state.db.engine, caller, state.service, read_timeout_ms=state.read_timeout_ms)
    call = Call(
        auth=state.auth,
        authorization=authorization,
        address=address,
        client=client,
        request_id=headers.get("x-request-id"),
    )
    return spec.run(call, payload)


def create_app(settings: Settings | None = None) -> Litestar:
    """The application; the database is opened (and checked) when it starts serving."""
    settings = settings or load_settings()
    holder: dict[str, AppState] = {}
    webui = WebUI(settings.ui_dir) if settings.ui_dir is not None else None

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        with ExitStack() as stack:
            db = stack.enter_context(open_database(settings))
            service = start(db.engine)
            holder["state"] = AppState(
                db=db,
                service=service,
                auth=Authenticator(
                    db.engine,
                    FailureLimiter(
                        settings.auth_failures_per_key, settings.auth_failures_per_address
                    ),
                ),
                openapi=msgspec.json.encode(openapi_document()),
                limits=Limits.of(settings),
                read_timeout_ms=settings.read_timeout_ms,
                files=FileStore(settings.files_dir),
                max_file_bytes=settings.max_file_bytes,
                max_body_bytes=settings.max_body_bytes,
            )
            _freeze_startup_heap()
            yield
            holder.clear()

    @route(path=["/", "/{path:path}"], http_method=[HttpMethod.GET, HttpMethod.POST])
    async def dispatch(request: Request[Any, Any, Any], path: str = "/") -> Response[bytes]:
        request_id = uuid.uuid4().hex
        # With a web UI, the API is also under /api/ (where the UI calls it).
        api_path = _under_api(path) if webui is not None else None
        parsed = _parse(path if api_path is None else api_path)
        name, version = parsed if parsed else (path.strip("/"), None)

        def answer(
            data: Any,
            code: int = 200,
            subcode: int = 0,
            msg: str = "OK",
            error_data: dict[str, Any] | None = None,
            *,
            headers: dict[str, str] | None = None,
        ) -> Response[bytes]:
            return _respond(
                envelope.encode(
                    request_id=request_id,
                    endpoint=name,
                    version=version,
                    data=data,
                    code=code,
                    subcode=subcode,
                    msg=msg,
                    error_data=error_data,
                ),
                code,
                headers,
            )

        spec = ENDPOINTS.get(name) if parsed else None
        if spec is None and webui is not None and api_path is None and request.method == "GET":
            page = await anyio.to_thread.run_sync(webui.get, path)
            cache = {"Cache-Control": page.cache}
            return Response(
                content=page.body, status_code=200, media_type=page.media_type, headers=cache
            )
        if spec is None:
            return answer({}, 404, 0, f"Unknown endpoint: {name or '/'}")
        try:
            # Older API versions' requests and answers are converted (http/versions.py).
            body = versions.request(version, name, await _read_body(request))
            headers = {k.lower(): v for k, v in request.headers.items()}
            # The peer's address (behind a proxy: the proxy's; docs/reliability.md).
            address = request.client.host if request.client else ""
            data = await anyio.to_thread.run_sync(
                _run, holder["state"], spec, body, headers, address
            )
            if versions.converts_answer(version, name):  # off the event loop: a whole page
                data = await anyio.to_thread.run_sync(versions.answer, version, name, data)
        except RequestEntityTooLarge:
            limit = settings.max_body_bytes
            return answer({}, 413, 0, f"Request body too large (limit {limit} bytes)")
        except BodyCutOff:
            return answer({}, 400, 0, "Request body incomplete (the connection was closed)")
        except Unauthorized as exc:
            return answer({}, 401, exc.subcode, exc.message)
        except TooManyFailures as exc:
            retry = {"Retry-After": str(exc.retry_after)}
            wait = {"retry_after": exc.retry_after}
            return answer({}, 429, 0, exc.message, wait, headers=retry)
        except DomainError as exc:
            return answer({}, exc.code, exc.subcode, exc.message, _plain(exc.data))
        except (psycopg.errors.ProgramLimitExceeded, sqlalchemy.exc.OperationalError) as exc:
            if not _over_program_limit(exc):
                return _unavailable(answer, name, exc)
            # A value too large for PostgreSQL (an index entry, a statement): the request's
            # fault, and its transaction rolled back. Limits (domain/limits.py) keep known
            # cases from getting here.
            log.warning("request over a PostgreSQL limit in %s: %s", name, exc)
            return answer({}, 400, InvalidRequest.subcode, "Validation error: value too large")
        except DatabaseUnavailable as exc:
            log.warning("database unavailable in %s: %s", name, exc)
            return answer({}, 503, 0, str(exc))
        except OutcomeUnknown as exc:
            log.warning("commit outcome unknown in %s: %s", name, exc.__cause__)
            return answer({}, 503, 1, str(exc))
        except psycopg.OperationalError as exc:
            return _unavailable(answer, name, exc)
        except Exception:
            log.exception("internal error in %s", name)
            return answer({}, 500, 0, "Internal server error")
        extra = None
        if isinstance(data, Answered):  # an endpoint that sets headers too (a cookie)
            data, extra = data.data, data.headers
        try:
            return answer(data, headers=extra)
        except Exception:  # still answer in the envelope, whatever the data held
            log.exception("cannot encode the answer of %s", name)
            return answer({}, 500, 0, "Internal server error")

    @get("/openapi.json")
    async def openapi() -> Response[bytes]:
        return _respond(holder["state"].openapi, 200)

    return Litestar(
        route_handlers=[openapi, dispatch, *files.routes(lambda: holder["state"])],
        exception_handlers={HTTPException: _framework_error, Exception: _framework_error},
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        logging_config=None,
    )


class BodyCutOff(Exception):
    """The connection closed before the whole body arrived (the client left, or the body
    deadline of tasktrack.http.connections cut it off): nobody to answer, nothing to log."""


async def _read_body(request: Request[Any, Any, Any]) -> bytes:
    try:
        return await request.body()
    except InternalServerException:
        # Litestar's way of saying the client disconnected mid-body (its only 500 here).
        raise BodyCutOff from None


def _freeze_startup_heap() -> None:
    """Hide what start-up built (modules, the engine, decoders: about 90,000 objects, alive
    for the whole process) from the garbage collector.

    Requests allocate fast, so a full collection runs every few hundred of them, and it walks
    every tracked object: measured at about 40 ms here, the whole of the p99 latency. Frozen
    objects are never walked again; only what requests leave behind is.
    """
    gc.collect()
    gc.freeze()


def _framework_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """What Litestar refuses before the dispatcher runs (an unsupported method: 405), or
    anything that escaped it, still in the envelope."""
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code >= 500:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
    msg = exc.detail if isinstance(exc, HTTPException) else "Internal server error"
    parsed = _parse(request.url.path)
    name, version = parsed if parsed else (request.url.path.strip("/"), None)
    request_id = uuid.uuid4().hex
    body = envelope.encode(
        request_id=request_id, endpoint=name, version=version, data={}, code=code, msg=msg
    )
    return _respond(body, code)


def _over_program_limit(exc: Exception) -> bool:
    """A PostgreSQL "program limit exceeded" error (SQLSTATE class 54), wrapped or not."""
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    return isinstance(orig, psycopg.errors.ProgramLimitExceeded)


def _unavailable(
    answer: Callable[..., Response[bytes]], name: str, exc: Exception
) -> Response[bytes]:
    # The database is unreachable (a restart, a network cut): say so, and that a retry may
    # work; a command that got this far wrote nothing (see TaskService).
    log.warning("database unavailable in %s: %s", name, exc)
    return answer({}, 503, 0, "Database unavailable; retry later")


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = msgspec.to_builtins(data)
    return plain


def create_app_from_env() -> Litestar:
    """The uvicorn factory (`uvicorn --factory tasktrack.http.app:create_app_from_env`)."""
    return create_app(load_settings())
