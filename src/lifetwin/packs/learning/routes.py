"""The learner twin in the API: ``GET /api/v1/persons/{id}/learning`` returns
:func:`lifetwin.packs.learning.operations.learning` (read for twin_core)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lifetwin.api.deps import Svc, Who, reply, scope, twin_reader
from lifetwin.packs.learning import operations as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["learning"])


@router.get(
    "/persons/{person_id}/learning",
    summary="Mastery per skill, forecast recall per deck and card, what to study next",
    response_model=ops.LearningView,
    openapi_extra=scope("twin_core"),
)
def get_learning(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, ops.learning(ctx))
