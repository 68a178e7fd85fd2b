"""The activity pages: ``/p/{id}/activity`` (the day against the usual, the last week and
month), ``/p/{id}/workouts`` (the list) and ``/p/{id}/workouts/{workout_id}`` (one workout:
heart rate and zones, splits, the route drawn offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.athletics import charts
from lifetwin.packs.athletics import operations as ops
from lifetwin.packs.athletics.workouts import duration_text, pace_text
from lifetwin.web.layout import Viewer, own_context, page

router = APIRouter(include_in_schema=False)
SHOWN = ("steps", "active_energy")  # charted day by day; the others are totals only


def _helpers() -> dict[str, Any]:
    return {"duration": duration_text, "pace": pace_text, "zone_colours": charts.ZONE_COLOURS}


@router.get("/p/{person_id}/activity")
def activity_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, day: str | None = None
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    try:
        found = ops.activity(ctx, day=parse_day(day, "the day"))
    except NotEnoughDataError as exc:
        return page(
            request,
            "activity.html",
            title="Activity",
            section="activity",
            who=who,
            person=ctx.person,
            found=None,
            message=str(exc),
        )
    figures = {
        m.metric: {"week": charts.days(m, 7), "month": charts.days(m, 30)}
        for m in found.metrics
        if m.metric in SHOWN
    }
    return page(
        request,
        "activity.html",
        title="Activity",
        section="activity",
        who=who,
        person=ctx.person,
        found=found,
        figures=figures,
        charts=bool(figures),
        **_helpers(),
    )


@router.get("/p/{person_id}/workouts")
def workouts_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    found = ops.workouts(ctx)
    return page(
        request,
        "workouts.html",
        title="Workouts",
        section="activity",
        who=who,
        person=ctx.person,
        found=found,
        **_helpers(),
    )


@router.get("/p/{person_id}/workouts/{workout_id}")
def workout_page(
    person_id: str, workout_id: str, request: Request, svc: Svc, who: Viewer
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    found = ops.workout(ctx, workout_id[:64])
    return page(
        request,
        "workout.html",
        title=f"{found.title}, {found.start:%d %b %Y}",
        section="activity",
        who=who,
        person=ctx.person,
        w=found,
        route=charts.route(found) if found.route else None,
        elevation=charts.elevation(found) if found.route and found.route.elevation_m else None,
        hr=charts.heart_rate(found) if found.heart_rate else None,
        charts=True,
        **_helpers(),
    )
