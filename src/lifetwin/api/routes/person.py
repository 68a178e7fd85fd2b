"""The person: their profile, what they log by hand, and every metric they hold. Each
route parses, calls one operation (:mod:`lifetwin.operations.person`,
:mod:`lifetwin.operations.manual`) and returns its model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lifetwin.api.deps import Svc, Who, Writer, context, owner, reader, reply, scope, writer
from lifetwin.operations import manual, person
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1/persons/{person_id}", tags=["persons"])


class LogBody(BaseModel):
    """One entry: any of these (at least one)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(default=None, description="When (default: now).")
    mood: float | None = Field(default=None, description="-1 very unpleasant to +1 very pleasant")
    energy: float | None = Field(default=None, description="1 exhausted to 5 full of energy")
    note: str | None = Field(default=None, max_length=manual.NOTE_MAX)
    blood_pressure: str | None = Field(
        default=None, max_length=20, description="systolic/diastolic in mmHg, e.g. 120/80"
    )
    weight: str | float | None = Field(default=None, description="kg, or e.g. '160 lb'")
    total_cholesterol: str | float | None = Field(default=None, description="mg/dL or mmol/L")
    hdl: str | float | None = Field(default=None, description="mg/dL or mmol/L")
    egfr: str | float | None = Field(default=None, description="mL/min/1.73 m²")
    glucose: str | float | None = Field(default=None, description="mg/dL or mmol/L")


class ProfileBody(BaseModel):
    """Profile answers to store (``GET .../profile`` lists every fact); others stay."""

    facts: dict[str, Any] = Field(description="fact -> answer, e.g. {'smoker': 'no'}")


@router.post(
    "/log",
    summary="Log mood, energy, a note or values measured elsewhere (stored as manual entries)",
    status_code=201,
    response_model=manual.LogResult,
    openapi_extra=scope("write"),
)
def log_entry(person_id: str, body: LogBody, request: Request, svc: Svc, who: Writer) -> Response:
    found = writer(svc, who, person_id)
    ctx = context(svc, who, found, Purpose.SELF_ACCESS)
    values = {k: getattr(body, k) for k in manual.VALUES}
    done = manual.log(
        ctx,
        at=body.at,
        mood=body.mood,
        energy=body.energy,
        note=body.note,
        blood_pressure=body.blood_pressure,
        values=values,
    )
    svc.after_write(found)
    return reply(request, done, status=201)


@router.get(
    "/log",
    summary="The latest entries: mood, energy, notes and values logged by hand",
    response_model=manual.EntryList,
    openapi_extra=scope("self_access"),
)
def recent_entries(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, manual.recent(owner(svc, who, person_id)))


@router.get(
    "/profile",
    summary="The profile: every fact, its answer and the risk scores that use it",
    response_model=person.ProfileView,
    openapi_extra=scope("self_access"),
)
def get_profile(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, person.profile(owner(svc, who, person_id)))


@router.put(
    "/profile",
    summary="Set profile answers (each checked; a refused one stores nothing)",
    response_model=person.ProfileView,
    openapi_extra=scope("self_access"),
)
def put_profile(
    person_id: str, body: ProfileBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    done = person.set_profile(ctx, body.facts)
    svc.changed(ctx.person.id)
    return reply(request, done)


@router.get(
    "/metrics",
    summary="Every metric held: unit, sources, devices, files, count, first and last time",
    response_model=person.MetricList,
    openapi_extra=scope("read"),
)
def list_metrics(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    return reply(request, person.held_metrics(reader(svc, who, person_id, purpose)))
