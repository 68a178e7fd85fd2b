"""The web service: the REST API under /api/v1, the Nightscout-compatible subset and
the dashboard, on one store (see docs/api.md)."""

from __future__ import annotations

import logging
import random
import re
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifetwin import __version__
from lifetwin.api.security import ApiError
from lifetwin.api.service import Service
from lifetwin.core.errors import (
    LifeTwinError,
    NotEnoughDataError,
    PersonError,
    UnitError,
    UnknownMetricError,
)
from lifetwin.logs import request_id
from lifetwin.privacy.consent import ConsentError
from lifetwin.privacy.mfa import MfaError
from lifetwin.services.accounts import AccountError
from lifetwin.settings import Settings
from lifetwin.store.vault import Store

log = logging.getLogger(__name__)
access = logging.getLogger("lifetwin.access")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def problem(
    status: int, detail: str, request: Request, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {
            "type": "about:blank",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "instance": request.url.path,
        },
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _status_of(exc: LifeTwinError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, PersonError | NotEnoughDataError):
        return 404
    if isinstance(exc, MfaError):
        return 401
    if isinstance(exc, UnknownMetricError | UnitError):
        return 422
    if isinstance(exc, ConsentError | AccountError):
        return 400
    return 422


def _validation_sentence(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "the request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "The request is not valid (" + "; ".join(parts) + ")."


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


CRASHED = (
    "Something went wrong on our side; the error is logged and any write in progress was "
    "rolled back."
)

#: (method, path pattern, handler): the handler answers a matching request or returns None
Shortcut = tuple[str, re.Pattern[str], Callable[..., Awaitable[Response | None]]]

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def _new_request_id() -> str:
    # an id to find a request's log lines, not a secret (os.urandom costs a system call
    # on the hottest route)
    return f"{random.getrandbits(64):016x}"


class Edge:
    """What every request passes first, in one plain ASGI layer (each layer costs the
    hottest route a few percent): an id for the request (the caller's X-Request-ID when
    it is sane) on every log line written for it and on the response, the security
    headers, bodies over the limit refused (413) before they are read into memory, and
    one log line per request: method, route, status, milliseconds (never the query: it
    may hold a token). ``shortcuts`` may answer a request before routing (see
    :data:`lifetwin.api.routes.twin.SHORTCUTS`)."""

    def __init__(
        self, app: ASGIApp, settings: Settings, shortcuts: Sequence[Shortcut] = ()
    ) -> None:
        self.app = app
        self.settings = settings
        self.shortcuts = list(shortcuts)
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope.get("path", "")
        upload = path.endswith("/imports") or path.endswith("/import")
        limit = self.settings.max_upload_bytes if upload else self.settings.max_body_bytes
        given = b""
        too_large = False
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value
            elif name == b"content-length" and value.isdigit() and int(value) > limit:
                too_large = True
        rid = given.decode("latin-1") if _REQUEST_ID.fullmatch(given) else _new_request_id()
        token = request_id.set(rid)
        status = 500

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {
                    **message,
                    "headers": [*headers, *extra, (b"x-request-id", rid.encode())],
                }
            await send(message)

        try:
            if too_large:
                await self._refuse(scope, with_headers, limit)
                return
            if await self._shortcut(scope, receive, with_headers):
                return
            seen = 0

            async def limited() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _TooLargeError
                return message

            try:
                await self.app(scope, limited, with_headers)
            except _TooLargeError:
                await self._refuse(scope, with_headers, limit)
        finally:
            access.info(
                "%s %s %s %.1f ms",
                scope.get("method"),
                scope.get("path"),
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id.reset(token)

    async def _shortcut(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether a shortcut answered (errors in it are answered as the app's are)."""
        for method, pattern, handler in self.shortcuts:
            if scope["method"] != method:
                continue
            found = pattern.fullmatch(scope["path"])
            if found is None:
                continue
            request = Request(scope, receive)
            try:
                response = await handler(request, *found.groups())
            except Exception:
                log.exception("unhandled error on %s", scope["path"])
                response = problem(500, CRASHED, request)
            if response is None:
                return False
            await response(scope, receive, send)
            return True
        return False

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        request = Request(scope)
        response = problem(
            413, f"The body is larger than the {limit // 1024:,} KiB this endpoint takes.", request
        )
        await response(scope, _empty_receive, send)


class _TooLargeError(Exception):
    pass


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    store: Store,
    settings: Settings | None = None,
    home: Path | None = None,
    *,
    close_store: bool = False,
) -> FastAPI:
    from lifetwin import web
    from lifetwin.api import nightscout
    from lifetwin.api.routes import admin, auth, data, live, person, privacy, twin
    from lifetwin.packs.registry import registry

    service = Service(store, settings, home=home)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        service.close()  # background work running here finishes before the store closes
        if close_store:
            store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="LifeTwin",
        version=__version__,
        summary="A private digital twin: your data, your key, your consent.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by the dashboard from our own copy of Swagger UI (offline)
        redoc_url=None,
        # No OpenTelemetry from the framework: its spans would name persons' routes to
        # whatever provider a host process configured, and the check costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.service = service

    @app.exception_handler(LifeTwinError)
    async def lifetwin_error(request: Request, exc: LifeTwinError) -> Response:
        headers = exc.headers if isinstance(exc, ApiError) else None
        status = _status_of(exc)
        if not isinstance(exc, ApiError):
            # where a refusal came from, for the operator (never its words: they may be
            # personal)
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            log.info("%s from %s answered %s", type(exc).__name__, where, status)
        if web.is_page(request.url.path) and "text/html" in request.headers.get("accept", ""):
            return web.error_page(request, status, str(exc), headers)
        return problem(status, str(exc), request, headers)

    app.add_exception_handler(web.SignInError, web.sign_in_redirect)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, _validation_sentence(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return problem(exc.status_code, detail, request, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, CRASHED, request)

    @app.get("/health", tags=["service"], summary="Liveness (no personal data)")
    def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__, "backend": store.backend.name}

    # routes are matched in order: the most frequent (the twin's outputs) first
    for module in (twin, data, person, auth, admin, privacy, live):
        app.include_router(module.router)
    app.include_router(nightscout.router)
    for router in registry().routers:  # the packs' own routes
        app.include_router(router)
    app.include_router(web.router())
    app.add_middleware(Edge, settings=service.settings, shortcuts=twin.SHORTCUTS)
    return app


def app_from_environment() -> FastAPI:
    """The app of one service worker, made from settings alone (``LIFETWIN_*``): what
    ``lifetwin serve --workers N`` and ``uvicorn --factory`` start in every process."""
    import os

    from lifetwin.logs import LOG_BLOCKS_S, configure
    from lifetwin.services.home import open_home, resolve_home

    settings = Settings()
    configure(settings.log_level, blocks_s=LOG_BLOCKS_S)
    home = resolve_home(settings.home)
    store = open_home(home, passphrase=os.environ.get("LIFETWIN_PASSPHRASE"))
    for note in store.notes:
        log.info("%s", note)
    return settled(create_app(store, settings, home=home, close_store=True))


def settled(app: FastAPI) -> FastAPI:
    """Call in a service process once its app is made: what exists now (modules, schemas,
    routes) lives as long as the process, so it is kept out of the cyclic collector, whose
    full passes over it paused every request for 0.1 s under load (measured with
    benchmarks/service_load.py, see docs/benchmarks.md). Not for tests that make many
    apps in one process: what is frozen is never collected."""
    import gc

    gc.collect()
    gc.freeze()
    return app
