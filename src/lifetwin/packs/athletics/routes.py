"""The athletics pack's API: the day's activity, the workout list and one workout (the
operations of :mod:`lifetwin.packs.athletics.operations`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reader, reply, scope
from lifetwin.operations.local_time import parse_day
from lifetwin.packs.athletics import operations as ops
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["activity"])


@router.get(
    "/persons/{person_id}/activity",
    summary="A day's steps, energy and distance against the usual; the last week and month",
    response_model=ops.ActivitySummary,
    openapi_extra=scope("read"),
)
def get_activity(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    day: str | None = Query(
        default=None, max_length=10, description="The day (YYYY-MM-DD; default: today)."
    ),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.activity(ctx, day=parse_day(day, "day")))


@router.get(
    "/persons/{person_id}/workouts",
    summary="Workouts, newest first",
    response_model=ops.WorkoutList,
    openapi_extra=scope("read"),
)
def get_workouts(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(default=ops.WORKOUT_DAYS, ge=1, le=36500, description="Days back."),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.workouts(ctx, days=days))


@router.get(
    "/persons/{person_id}/workouts/{workout_id}",
    summary="One workout: heart-rate curve and zones, splits, and its route in metres",
    response_model=ops.WorkoutDetail,
    openapi_extra=scope("read"),
)
def get_workout(
    person_id: str,
    workout_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    return reply(request, ops.workout(ctx, workout_id[:64]))
