"""The study operator's dashboard page: the studies, their budgets and their last runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.api.security import ApiError
from lifetwin.operations import population as ops
from lifetwin.services.accounts import Role
from lifetwin.web.layout import Viewer, page

router = APIRouter(include_in_schema=False)
LAST_RELEASES = 8


@router.get("/studies")
def studies_page(request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    if who.role is not Role.OPERATOR:
        raise ApiError(403, "This page is for study operators.")
    sctx = ops.StudyContext(svc.store, actor=who.actor, home=svc.home)
    details = [ops.study(sctx, s.id) for s in ops.studies(sctx).items]
    return page(
        request,
        "studies.html",
        title="Studies",
        who=who,
        studies=details,
        last=LAST_RELEASES,
    )
