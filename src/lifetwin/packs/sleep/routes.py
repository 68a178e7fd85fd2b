"""The sleep pack's API: ``GET /api/v1/persons/{id}/sleep`` (the operation
:func:`lifetwin.packs.sleep.operations.sleep`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reader, reply, scope
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.sleep import operations as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["sleep"])


@router.get(
    "/persons/{person_id}/sleep",
    summary="A night's hypnogram and totals against the usual, and the last week and month",
    response_model=ops.SleepSummary,
    openapi_extra=scope("read"),
)
def get_sleep(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    night: str | None = Query(
        default=None,
        max_length=10,
        description="The night that began on this evening (YYYY-MM-DD; default: the newest).",
    ),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.sleep(ctx, night=parse_day(night, "night")))
