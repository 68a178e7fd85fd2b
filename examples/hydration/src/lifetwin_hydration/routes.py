"""``GET /api/v1/persons/{id}/hydration``."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reply, scope, twin_reader
from lifetwin.privacy.consent import Purpose
from lifetwin_hydration.operations import Hydration, hydration

router = APIRouter(prefix="/api/v1", tags=["hydration"])


@router.get(
    "/persons/{person_id}/hydration",
    summary="Water drunk per day against the goal (example pack)",
    response_model=Hydration,
    openapi_extra=scope("twin_core"),
)
def get_hydration(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    last: int = Query(default=14, ge=1, le=366),
) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, hydration(ctx, last=last))
