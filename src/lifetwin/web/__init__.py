"""The dashboard: server-rendered pages on the same operations and access rules as the API.

Works offline: the only script besides ours is the plotly.js bundled in the plotly
package, served from /static. Forms post with a CSRF token; the session cookie is
httpOnly, Secure and SameSite=Strict. Charts get their data as JSON in the page
(``<script type="application/json">``), so the content security policy can forbid
inline scripts.

The sign-in pages are always there; every other page comes from a pack's
``lifetwin_pages`` hook (the built-in ones too), with its navigation entry.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lifetwin.web.layout import SignInError, page

__all__ = ["SignInError", "error_page", "is_page", "router", "sign_in_redirect"]


def router() -> APIRouter:
    """Every page: sign-in and the start page, then each installed pack's pages."""
    from lifetwin.packs.registry import registry
    from lifetwin.web.pages import account

    found = APIRouter(include_in_schema=False)
    found.include_router(account.router)
    for pack_page in registry().pages:
        found.include_router(pack_page.router)
    return found


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    del request, exc
    return RedirectResponse("/login", status_code=303)


def is_page(path: str) -> bool:
    return path == "/" or path.startswith(("/p/", "/login", "/logout"))


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None
) -> Response:
    response = page(
        request,
        "message.html",
        status=status,
        title="Sorry",
        heading="That did not work",
        message=message,
        link="/",
        link_text="Back to your overview",
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
