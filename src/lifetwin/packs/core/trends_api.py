"""``GET /api/v1/persons/{id}/trends``: every numeric metric's last month day by day (the
operation :func:`lifetwin.operations.trends.trends`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reader, reply, scope
from lifetwin.operations import trends as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["twin"])


@router.get(
    "/persons/{person_id}/trends",
    summary="Each numeric metric day by day over the last month, this week against the last",
    response_model=ops.TrendList,
    openapi_extra=scope("read"),
)
def get_trends(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(default=ops.TREND_DAYS, ge=7, le=366, description="Days back."),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.trends(ctx, days=days))
