"""The risk page: validated scores with where each input came from."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.operations import twin as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.web.layout import Viewer, page, twin_context

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/risk")
def risk_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    return page(
        request,
        "risk.html",
        title="Risk",
        section="risk",
        who=who,
        person=ctx.person,
        report=ops.risk(ctx),
    )
