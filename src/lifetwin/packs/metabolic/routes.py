"""The glucose API: the newest reading and its trend, a day, a week, the AGP report, and
the person's glucose unit and targets. Each route parses, calls one operation of
:mod:`lifetwin.operations.glucose` and returns its model (the CGM report and the forecast
are ``/cgm`` and ``/forecast`` in the twin's routes).

Glucose values are in the ``unit`` each answer names: the person's preference unless the
request asks for one (``unit=mg/dL`` or ``unit=mmol/L``)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from lifetwin.api.deps import Svc, Who, Writer, owner, reader, reply, scope
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import glucose as ops
from lifetwin.operations.data import parse_time
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["glucose"])

UNIT = Query(
    default=None,
    max_length=10,
    description="mg/dL or mmol/L (default: the person's preference).",
)


def _date(text: str | None, what: str) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        quoted = text[:20].encode("unicode_escape").decode("ascii")
        raise LifeTwinError(f"'{quoted}' is not a date for {what} (use YYYY-MM-DD).") from None


@router.get(
    "/persons/{person_id}/glucose/now",
    summary="The newest glucose reading, its trend arrow and the change since the one before",
    response_model=ops.GlucoseNow,
    openapi_extra=scope("read"),
)
def get_now(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    unit: str | None = UNIT,
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.glucose_now(ctx, unit=unit))


@router.get(
    "/persons/{person_id}/glucose/day",
    summary="One day's glucose with its insulin and carbohydrates",
    response_model=ops.GlucoseDay,
    openapi_extra=scope("read"),
)
def get_day(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    day: str | None = Query(
        default=None, max_length=10, description="YYYY-MM-DD (default: the newest reading's)."
    ),
    unit: str | None = UNIT,
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.glucose_day(ctx, _date(day, "day"), unit=unit))


@router.get(
    "/persons/{person_id}/glucose/week",
    summary="Seven days of glucose, each as 15-minute means, to lay over each other",
    response_model=ops.GlucoseWeek,
    openapi_extra=scope("read"),
)
def get_week(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    start: str | None = Query(
        default=None,
        max_length=10,
        description="The first day, YYYY-MM-DD (default: the week up to the newest reading).",
    ),
    unit: str | None = UNIT,
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.glucose_week(ctx, _date(start, "start"), unit=unit))


@router.get(
    "/persons/{person_id}/glucose/agp",
    summary="The AGP report: time in ranges, targets, the glucose profile, daily profiles",
    response_model=ops.AgpReport,
    openapi_extra=scope("read"),
)
def get_agp(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(
        default=ops.CGM_DAYS, ge=0, le=36500, description="The latest days (0: all)."
    ),
    since: str | None = Query(default=None, max_length=40),
    until: str | None = Query(default=None, max_length=40),
    source: str | None = Query(default=None, max_length=200),
    unit: str | None = UNIT,
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    found = ops.agp_report(
        ctx,
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        days=days,
        source=source,
        unit=unit,
    )
    return reply(request, found)


@router.get(
    "/persons/{person_id}/glucose/settings",
    summary="How the person's glucose is shown: the unit and the target range",
    response_model=ops.GlucoseSettings,
    openapi_extra=scope("self_access"),
)
def get_settings(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, ops.glucose_settings(owner(svc, who, person_id)))


class SettingsBody(BaseModel):
    unit: str | None = Field(default=None, max_length=10, description="mg/dL or mmol/L")
    low: float | None = Field(default=None, description="the target range's low end, in the unit")
    high: float | None = Field(default=None, description="its high end, in the unit")


@router.put(
    "/persons/{person_id}/glucose/settings",
    summary="Set the glucose unit and/or the target range (the person's own profile)",
    response_model=ops.GlucoseSettings,
    openapi_extra=scope("self_access"),
)
def put_settings(
    person_id: str, body: SettingsBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)  # a setting of the person's own, as consents are
    found = ops.set_glucose_settings(ctx, unit=body.unit, low=body.low, high=body.high)
    svc.changed(ctx.person.id)  # cached overviews show glucose in the unit
    return reply(request, found)
