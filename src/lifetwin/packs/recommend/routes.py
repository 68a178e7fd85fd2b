"""Recommendations in the API: the list (built-in, or a provider's catalog ranked on the
person's side), feedback, settings and the log of what was shown. Each route parses,
calls one operation of :mod:`lifetwin.packs.recommend.operations` and returns its model.

The twin's recommendations are the person's own output, read for the
``recommendations`` purpose (a token must carry it); changing the settings can change
consent ("don't use my sleep"), so only the person themself may (``self_access``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from lifetwin.api.deps import Svc, Who, Writer, owner, reply, scope, twin_reader
from lifetwin.packs.recommend import operations as ops
from lifetwin.packs.recommend.capability import Correction
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["recommendations"])
PURPOSE = Purpose.RECOMMENDATIONS


class FeedbackIn(BaseModel):
    recommendation: str = Field(
        min_length=1, max_length=200, description="the recommendation's id, or its item's id"
    )
    kind: ops.FeedbackKind
    correction: Correction | None = Field(
        default=None, description="with kind 'wrong': what the twin got wrong"
    )


@router.get(
    "/persons/{person_id}/recommendations",
    summary="Recommendations now, with reasons, lineage and controls",
    response_model=ops.RecommendationList,
    openapi_extra=scope("recommendations"),
)
def get_recommendations(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    fresh: bool = Query(default=False, description="Rank anew rather than show the last slate."),
) -> Response:
    ctx = twin_reader(svc, who, person_id, PURPOSE)
    return reply(request, ops.recommendations(ctx, fresh=fresh))


@router.post(
    "/persons/{person_id}/recommendations",
    summary="Rank a provider's catalog on the person's side",
    response_model=ops.RecommendationList,
    openapi_extra=scope("recommendations"),
)
def rank_catalog(
    person_id: str,
    catalog: ops.CatalogIn,
    request: Request,
    svc: Svc,
    who: Writer,
    fresh: bool = Query(default=False, description="Rank anew rather than show the last slate."),
) -> Response:
    ctx = twin_reader(svc, who, person_id, PURPOSE)
    return reply(request, ops.recommendations(ctx, body=catalog, fresh=fresh))


@router.post(
    "/persons/{person_id}/recommendations/feedback",
    summary="Useful, not now, not interested, or wrong about me (with a correction)",
    response_model=ops.FeedbackDone,
    openapi_extra=scope("recommendations"),
)
def post_feedback(
    person_id: str, answer: FeedbackIn, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = twin_reader(svc, who, person_id, PURPOSE)
    done = ops.feedback(ctx, answer.recommendation, answer.kind, correction=answer.correction)
    return reply(request, done)


@router.get(
    "/persons/{person_id}/recommendations/settings",
    summary="Goals, quiet hours, caps, pause, and the data recommendations may use",
    response_model=ops.SettingsView,
    openapi_extra=scope("recommendations"),
)
def get_settings(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = twin_reader(svc, who, person_id, PURPOSE)
    return reply(request, ops.settings(ctx))


@router.put(
    "/persons/{person_id}/recommendations/settings",
    summary="Change goals, quiet hours, caps, pause; don't use (or use again) a kind of data",
    response_model=ops.SettingsView,
    openapi_extra=scope("self_access"),
)
def put_settings(
    person_id: str, change: ops.SettingsChange, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    found = ops.change_settings(ctx, change)
    if change.exclude or change.include:
        svc.changed(ctx.person.id)  # consent changed: every worker recomputes
    return reply(request, found)


@router.get(
    "/persons/{person_id}/recommendations/log",
    summary="What was shown, when and why, and what came of it",
    response_model=ops.ShownLog,
    openapi_extra=scope("recommendations"),
)
def get_log(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    limit: int = Query(default=ops.HISTORY_LIMIT, ge=1, le=300),
) -> Response:
    ctx = twin_reader(svc, who, person_id, PURPOSE)
    return reply(request, ops.history(ctx, limit=limit))
