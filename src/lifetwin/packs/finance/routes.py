"""The finance pack's API: ``GET /api/v1/persons/{id}/money`` (the operation
:func:`lifetwin.packs.finance.operations.money`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reader, reply, scope
from lifetwin.packs.finance import operations as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["money"])


@router.get(
    "/persons/{person_id}/money",
    summary="A month's spending by category in the person's currency, and the months before",
    response_model=ops.MoneySummary,
    openapi_extra=scope("read"),
)
def get_money(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    month: str | None = Query(
        default=None,
        max_length=7,
        description="The month (YYYY-MM; default: this month, or the newest with records).",
    ),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.money(ctx, month=month))
