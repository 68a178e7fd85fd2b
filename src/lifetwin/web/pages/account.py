"""Static files, sign-in and sign-out, and the start page for each role."""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from lifetwin.api.deps import Svc
from lifetwin.api.routes.auth import login, set_session_cookie
from lifetwin.api.security import SESSION_COOKIE, ApiError
from lifetwin.services.accounts import Role
from lifetwin.web.layout import Viewer, form_csrf, page

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "lifetwin_login_csrf"
STATIC = {
    "lifetwin.css": "text/css",
    "lifetwin.js": "text/javascript",
    "swagger-init.js": "text/javascript",
}
SWAGGER_UI = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LifeTwin API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="/api/v1/openapi.json"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name == "plotly.min.js":
        import plotly  # type: ignore[import-untyped]

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )
    if name not in STATIC:
        raise ApiError(404, f"There is no file {name}.")
    body = resources.files("lifetwin.web").joinpath("static", name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


@router.get("/static/swagger-ui/{name}")
def swagger_ui(name: str) -> Response:
    """Swagger UI's own files, shipped with LifeTwin (see static/swagger-ui/README.md)."""
    if name not in SWAGGER_UI:
        raise ApiError(404, f"There is no file {name}.")
    body = resources.files("lifetwin.web").joinpath("static", "swagger-ui", name).read_bytes()
    return Response(body, media_type=SWAGGER_UI[name], headers={"Cache-Control": "max-age=86400"})


@router.get("/api/docs")
def api_docs() -> Response:
    """The interactive API documentation, offline and under the strict content policy."""
    return Response(DOCS_PAGE, media_type="text/html")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


def _login_form(request: Request, status: int = 200, **values: object) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request, "login.html", status=status, title="Sign in", login_csrf=token, **values
    )
    response.set_cookie(
        LOGIN_CSRF, token, max_age=3600, httponly=True, secure=True, samesite="strict"
    )
    return response


@router.get("/login")
def login_page(request: Request, error: str | None = None) -> Response:
    return _login_form(request, error=error)


@router.post("/login")
async def login_submit(request: Request, svc: Svc) -> Response:
    form = await request.form()
    name, password, code = (str(form.get(k) or "") for k in ("name", "password", "code"))
    given, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF, "")
    if not expected or not secrets.compare_digest(given, expected):
        raise ApiError(
            403, "The sign-in form is missing its CSRF token (reload the page and try again)."
        )
    try:
        _account, session = await login(svc, request, name, password, code)
    except ApiError as exc:
        if exc.status == 429:
            raise
        return _login_form(request, status=401, error=exc.detail, name=name)
    done = RedirectResponse("/", status_code=303)
    set_session_cookie(done, session.id)
    done.delete_cookie(LOGIN_CSRF)
    return done


@router.post("/logout")
async def logout(request: Request, svc: Svc, who: Viewer) -> Response:
    await form_csrf(request, who, svc)
    if who.session is not None:
        svc.gate.end_session(who.session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, svc: Svc) -> Response:
    who = svc.gate.principal(request, required=False)
    if who is None or who.via != "session":
        return RedirectResponse("/login", status_code=303)
    if who.role is Role.PERSON and who.person_id:
        return RedirectResponse(f"/p/{who.person_id}", status_code=303)
    if who.role is Role.OPERATOR:  # the research pack's page of studies
        return RedirectResponse("/studies", status_code=303)
    if who.role is Role.ADMIN:
        from lifetwin.operations.store import service_status

        facts = service_status(svc.store)
        return page(request, "admin.html", title="Service", who=who, facts=facts)
    return page(
        request,
        "persons.html",
        title="Shared with you",
        who=who,
        persons=svc.gate.visible_persons(who),
    )
