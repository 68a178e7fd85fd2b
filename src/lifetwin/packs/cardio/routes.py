"""The cardio pack's API: ``GET /api/v1/persons/{id}/readiness`` (the operation
:func:`lifetwin.packs.cardio.operations.readiness`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reply, scope, twin_reader
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.cardio import operations as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["twin"])


@router.get(
    "/persons/{person_id}/readiness",
    summary="The day's signals against the person's own baselines, 0-100 (not a medical score)",
    response_model=ops.Readiness,
    openapi_extra=scope("twin_core"),
)
def get_readiness(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    day: str | None = Query(
        default=None,
        max_length=10,
        description="The day (YYYY-MM-DD; default: today, or yesterday while today has no "
        "sleep, resting heart rate or HRV yet).",
    ),
) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, ops.readiness(ctx, day=parse_day(day, "day")))
