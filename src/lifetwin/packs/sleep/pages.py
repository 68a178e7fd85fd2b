"""The sleep page: ``/p/{id}/sleep`` — a night's hypnogram and totals against the usual,
the last week's stages and the month's nights (the operation
:func:`lifetwin.packs.sleep.operations.sleep`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.sleep import charts
from lifetwin.packs.sleep import operations as ops
from lifetwin.web.layout import Viewer, own_context, page

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/sleep")
def sleep_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, night: str | None = None
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    chosen = parse_day(night, "the night")
    try:
        found = ops.sleep(ctx, night=chosen)
    except NotEnoughDataError as exc:
        return page(
            request,
            "sleep.html",
            title="Sleep",
            section="sleep",
            who=who,
            person=ctx.person,
            found=None,
            message=str(exc),
            chosen=chosen,
        )
    return page(
        request,
        "sleep.html",
        title="Sleep",
        section="sleep",
        who=who,
        person=ctx.person,
        found=found,
        chosen=found.night.night,
        hm=ops.hours_minutes,
        labels=ops.STAGE_LABELS,
        colours=charts.STAGE_COLOURS,
        hypnogram=charts.hypnogram(found),
        week=charts.week(found),
        month=charts.month(found),
        charts=True,
    )
