"""The readiness page: ``/p/{id}/readiness`` — the day's signals against the person's own
baselines, one number and its parts in plain words (the operation
:func:`lifetwin.packs.cardio.operations.readiness`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.cardio import operations as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.web.layout import Viewer, page, twin_context

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/readiness")
def readiness_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, day: str | None = None
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    try:
        found = ops.readiness(ctx, day=parse_day(day, "the day"))
    except NotEnoughDataError as exc:
        found, message = None, str(exc)
    else:
        message = ""
    return page(
        request,
        "readiness.html",
        title="Readiness",
        section="readiness",
        who=who,
        person=ctx.person,
        found=found,
        message=message,
        note=ops.NOTE,
    )
