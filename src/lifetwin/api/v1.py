"""The REST API, version 1: /api/v1/...

Conventions: JSON in and out; errors are ``application/problem+json`` with one
sentence in ``detail``; reads carry an ``ETag`` and answer ``304`` to a matching
``If-None-Match``; lists page with ``limit`` and a ``next`` cursor (also in a
``Link: <…>; rel="next"`` header). Authentication is a bearer token
(``Authorization: Bearer lt_…``) or the dashboard's session cookie, in which case
state-changing requests need the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from lifetwin.api import ingest, views
from lifetwin.api.security import SESSION_COOKIE, ApiError, Principal
from lifetwin.api.service import Service
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import SESSION_HOURS, AccountError, Role, parse_scopes
from lifetwin.services.background import summary_dict
from lifetwin.services.live import EVENTS, webhook_problem

router = APIRouter(prefix="/api/v1")

PersonId = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


Svc = Annotated[Service, Depends(service)]


def principal(request: Request, svc: Svc) -> Principal:
    who = svc.gate.principal(request)
    assert who is not None
    return who


Who = Annotated[Principal, Depends(principal)]


def csrf(request: Request, who: Who) -> Principal:
    """State-changing requests from a browser session need the CSRF header."""
    gate = request.app.state.service.gate
    gate.check_csrf(who, request.headers.get("x-csrf-token"))
    return who


Writer = Annotated[Principal, Depends(csrf)]


def reply(
    request: Request, payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """JSON with a strong ETag; 304 when the client already has this version.

    orjson writes NaN and infinities as null, so the body is always valid JSON."""
    body = orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    extra = {"ETag": etag, "Cache-Control": "private, no-cache", **(headers or {})}
    match = request.headers.get("if-none-match", "")
    if status == 200 and etag in [m.strip() for m in match.split(",")]:
        return Response(status_code=304, headers=extra)
    return Response(body, status_code=status, media_type="application/json", headers=extra)


def scope(name: str) -> dict[str, Any]:
    """The scope a route needs, in the spec (``x-lifetwin-scope``): a purpose, ``write``,
    ``read`` (the purpose asked for with ``?purpose=``, self_access by default) or
    ``account`` (no person's data)."""
    return {"x-lifetwin-scope": name}


def _page_link(request: Request, **params: Any) -> str:
    url = request.url.include_query_params(**params)
    return f'<{url}>; rel="next"'


# -- session and tokens --------------------------------------------------------------------
class LoginBody(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    code: str = Field(max_length=12, description="The current TOTP code.")


async def login(
    svc: Service, request: Request, name: str, password: str, code: str
) -> tuple[Any, Any]:
    """Sign in (rate limits, password, one-time code): the API's and the dashboard's."""
    return await svc.gate.sign_in(request, name, password, code)


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )


@router.post(
    "/session",
    tags=["auth"],
    summary="Sign in (password and TOTP code)",
    openapi_extra=scope("account"),
)
async def create_session(body: LoginBody, request: Request, svc: Svc) -> Response:
    account, session = await login(svc, request, body.name, body.password, body.code)
    response = JSONResponse(
        {
            "account": account.name,
            "role": account.role.value,
            "person_id": account.person_id,
            "csrf_token": session.csrf,
        }
    )
    set_session_cookie(response, session.id)
    return response


@router.delete(
    "/session", tags=["auth"], summary="Sign out", status_code=204, openapi_extra=scope("account")
)
def delete_session(request: Request, svc: Svc, who: Writer) -> Response:
    if who.session is not None:
        svc.gate.end_session(who.session.id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", tags=["auth"], summary="Who is signed in", openapi_extra=scope("account"))
def me(request: Request, who: Who) -> Response:
    return reply(
        request,
        {
            "account": who.account,
            "role": who.role.value,
            "person_id": who.person_id,
            "via": who.via,
            "purposes": sorted(who.scopes) if who.scopes is not None else None,
        },
    )


class TokenBody(BaseModel):
    person_id: str = Field(max_length=64)
    purposes: list[str] = Field(
        min_length=1,
        max_length=10,
        description="Scopes: purposes it may read for, and 'write' to add data.",
    )
    days: float = Field(default=90, gt=0, le=3650)
    label: str = Field(default="", max_length=100)


@router.post(
    "/tokens",
    tags=["auth"],
    summary="Make a scoped API token (shown once)",
    status_code=201,
    openapi_extra=scope("account"),
)
def create_token(body: TokenBody, request: Request, svc: Svc, who: Writer) -> Response:
    if who.via == "token":
        raise ApiError(403, "Tokens are made from a signed-in session, not with another token.")
    person = svc.gate.person_for(who, body.person_id)
    try:
        scopes = parse_scopes(body.purposes)
    except AccountError as exc:
        raise ApiError(422, str(exc)) from None
    try:
        made = svc.gate.accounts.issue_token(
            svc.gate.accounts.get(who.account),
            body.person_id,
            scopes,
            body.days,
            body.label,
            actor=who.actor,
        )
    except AccountError as exc:
        raise ApiError(403, str(exc)) from None
    vault = svc.gate.vault(who, person)
    vault.log_event("token", "self_access", token=made.token.id, purposes=made.token.purposes)
    return reply(
        request,
        {
            "id": made.token.id,
            "token": made.secret,
            "expires": made.token.expires,
            "purposes": made.token.purposes,
            "person_id": made.token.person_id,
        },
        status=201,
    )


@router.get(
    "/tokens",
    tags=["auth"],
    summary="Your tokens (never their secrets)",
    openapi_extra=scope("account"),
)
def list_tokens(request: Request, svc: Svc, who: Who) -> Response:
    tokens = svc.gate.accounts.tokens(who.account)
    return reply(
        request,
        [
            {
                "id": t.id,
                "person_id": t.person_id,
                "purposes": t.purposes,
                "expires": t.expires,
                "label": t.label,
            }
            for t in tokens
        ],
    )


@router.delete(
    "/tokens/{token_id}",
    tags=["auth"],
    summary="Revoke a token",
    status_code=204,
    openapi_extra=scope("account"),
)
def revoke_token(token_id: str, svc: Svc, who: Writer) -> Response:
    token = svc.gate.accounts.token(token_id)
    if token is None or token.account != who.account:
        raise ApiError(404, f"There is no token '{token_id}' of yours.")
    svc.gate.accounts.revoke_token(token_id, actor=who.actor)
    svc.gate.forget()
    return Response(status_code=204)


# -- administration ------------------------------------------------------------------------
def _require_admin(who: Principal) -> Principal:
    if who.role is not Role.ADMIN:
        raise ApiError(403, "This needs an administrator account.")
    return who


async def admin(who: Who) -> Principal:
    return _require_admin(who)


class NewPersonBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    account: str = Field(max_length=64)
    password: str = Field(min_length=10, max_length=1024)


class NewCaregiverBody(BaseModel):
    account: str = Field(max_length=64)
    password: str = Field(min_length=10, max_length=1024)


@router.get(
    "/admin/status",
    tags=["admin"],
    summary="Service status (no personal data)",
    openapi_extra=scope("admin"),
)
def admin_status(request: Request, svc: Svc, who: Annotated[Principal, Depends(admin)]) -> Response:
    accounts = svc.gate.accounts.all()
    jobs = svc.store.backend.job_counts()
    return reply(
        request,
        {
            "backend": svc.store.backend.describe(),
            "persons": svc.store.backend.person_count(),
            "accounts": {r.value: sum(a.role is r for a in accounts) for r in Role},
            "import_jobs_running": jobs.get("running", 0) + jobs.get("queued", 0),
            "jobs": jobs,
        },
    )


@router.post(
    "/admin/persons",
    tags=["admin"],
    summary="Create a person and their account",
    status_code=201,
    openapi_extra=scope("admin"),
)
def admin_create_person(
    body: NewPersonBody, request: Request, svc: Svc, who: Annotated[Principal, Depends(csrf)]
) -> Response:
    _require_admin(who)
    person = svc.store.add_person(body.name)
    try:
        account = svc.gate.accounts.create(
            body.account, body.password, Role.PERSON, person.id, actor=who.actor
        )
    except AccountError:
        svc.store.erase(person)
        raise
    return reply(
        request,
        {
            "person_id": person.id,
            "account": account.name,
            "totp_uri": account.guard().provisioning_uri(account.name),
        },
        status=201,
    )


@router.post(
    "/admin/caregivers",
    tags=["admin"],
    summary="Create a caregiver account",
    status_code=201,
    openapi_extra=scope("admin"),
)
def admin_create_caregiver(
    body: NewCaregiverBody, request: Request, svc: Svc, who: Annotated[Principal, Depends(csrf)]
) -> Response:
    _require_admin(who)
    account = svc.gate.accounts.create(body.account, body.password, Role.CAREGIVER, actor=who.actor)
    return reply(
        request,
        {"account": account.name, "totp_uri": account.guard().provisioning_uri(account.name)},
        status=201,
    )


# -- persons -------------------------------------------------------------------------------
@router.get(
    "/persons", tags=["persons"], summary="The persons you can see", openapi_extra=scope("account")
)
def list_persons(request: Request, svc: Svc, who: Who) -> Response:
    people = svc.gate.visible_persons(who)
    return reply(request, {"items": [{"id": p.id, "name": p.name} for p in people], "next": None})


@router.get(
    "/persons/{person_id}", tags=["persons"], summary="One person", openapi_extra=scope("read")
)
def get_person(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    vault = svc.gate.vault(who, person)
    streams = views.streams(vault, chosen, recipient)
    vault.log_event("view", chosen.value, what="person", recipient=recipient)
    return reply(
        request,
        {
            "id": person.id,
            "name": person.name,
            "created": person.created.isoformat(),
            "streams": len(streams),
        },
    )


@router.delete(
    "/persons/{person_id}",
    tags=["persons"],
    summary="Erase the person (irreversible)",
    status_code=204,
    openapi_extra=scope("self_access"),
)
def erase_person(
    person_id: str,
    svc: Svc,
    who: Writer,
    confirm: str = Query(description="The person's name, to confirm."),
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    if not svc.confirms(person, confirm):
        raise ApiError(400, "To erase, 'confirm' must be the person's name exactly.")
    svc.erase(person, who)
    return Response(status_code=204)


@router.get(
    "/persons/{person_id}/streams",
    tags=["data"],
    summary="Streams you may see",
    openapi_extra=scope("read"),
)
def list_streams(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    vault = svc.gate.vault(who, person)
    items = views.streams(vault, chosen, recipient)
    vault.log_event("view", chosen.value, what="streams", recipient=recipient)
    return reply(request, {"items": items, "next": None})


@router.get(
    "/persons/{person_id}/observations",
    tags=["data"],
    summary="A metric's values in a time range",
    openapi_extra=scope("read"),
)
def read_observations(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    metric: str = Query(max_length=80),
    since: str | None = Query(default=None, description="ISO 8601 start (inclusive)."),
    until: str | None = Query(default=None, description="ISO 8601 end (exclusive)."),
    every: int | None = Query(
        default=None, ge=1, le=366 * 86400, description="Average into buckets of this many seconds."
    ),
    limit: int = Query(default=5000, ge=1, le=views.MAX_POINTS),
    after_ms: int | None = Query(
        default=None, description="The 'next_after_ms' of the previous page."
    ),
    purpose: Purpose | None = None,
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    start, end = views.parse_time(since, "since"), views.parse_time(until, "until")
    vault = svc.gate.vault(who, person)
    data = views.series(vault, metric, chosen, recipient, start, end, every, limit, after_ms)
    headers = {}
    if data["next_after_ms"] is not None:
        headers["Link"] = _page_link(request, after_ms=data["next_after_ms"])
    return reply(request, data, headers=headers)


def writer_for(svc: Service, who: Principal, person_id: str) -> Any:
    """The person, when the caller may add data for them (their own account, with a
    session or a token that has the write scope)."""
    person = svc.gate.person_for(who, person_id)
    if who.role is not Role.PERSON:
        raise ApiError(403, "Only the person's own account or tokens can add data.")
    svc.gate.require_write(who)
    return person


@router.post(
    "/persons/{person_id}/observations",
    tags=["data"],
    summary="Ingest observations (JSON or NDJSON); all are stored or none",
    openapi_extra={
        **scope("write"),
        "requestBody": {
            "content": {
                "application/json": {"schema": ingest.schema()},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "One observation per line."}
                },
            },
            "required": True,
        },
    },
)
async def ingest_observations(person_id: str, request: Request, svc: Svc, who: Writer) -> Response:
    person = writer_for(svc, who, person_id)
    settings = svc.settings
    svc.gate.charge(
        f"ingest|{who.account}|{who.via}",
        settings.ingest_requests,
        settings.ingest_window_s,
        "ingest requests",
    )
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        items = await asyncio.to_thread(ingest.parse_ndjson, body, settings.max_batch)
    elif kind == "application/json":
        items = await asyncio.to_thread(ingest.parse_json, body)
    else:
        raise ApiError(415, f"Send application/json or application/x-ndjson, not {kind}.")
    if len(items) > settings.max_batch:
        raise ApiError(413, f"At most {settings.max_batch:,} observations per request.")
    digest = hashlib.sha256(body).hexdigest()
    summary = await asyncio.to_thread(svc.ingest, person, items, digest, "api")
    return reply(request, summary_dict(summary), status=201)


# -- imports -----------------------------------------------------------------------------------
@router.post(
    "/persons/{person_id}/imports",
    tags=["data"],
    summary="Upload an export file to import",
    status_code=202,
    openapi_extra=scope("write"),
)
async def upload_import(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Writer,
    file: Annotated[
        UploadFile, File(description="An export file (Apple Health zip, Clarity CSV, FHIR, ...).")
    ],
    format: Annotated[
        str | None, Form(description="Force a format instead of detecting it.")
    ] = None,
) -> Response:
    person = writer_for(svc, who, person_id)
    job = await svc.receive_upload(person, file, format or None)
    location = f"/api/v1/persons/{person_id}/imports/{job.id}"
    return reply(request, job.public(), status=202, headers={"Location": location})


@router.get(
    "/persons/{person_id}/imports/{job_id}",
    tags=["data"],
    summary="Progress and summary of an upload",
    openapi_extra=scope("write|self_access"),
)
def import_status(person_id: str, job_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.person_for(who, person_id)
    if who.role is not Role.PERSON or not (
        who.can_write or Purpose.SELF_ACCESS in (who.purposes or ())
    ):
        raise ApiError(403, "Only the person themself (or their write token) can see this.")
    status = svc.import_status(person, job_id)
    if status is None:
        raise ApiError(404, f"There is no import '{job_id}' for this person.")
    return reply(request, status.public())


@router.get(
    "/persons/{person_id}/imports",
    tags=["data"],
    summary="Past imports",
    openapi_extra=scope("self_access"),
)
def list_imports(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    records = svc.gate.vault(who, person).imports()
    return reply(
        request,
        {
            "items": [
                {
                    "id": r.id,
                    "file": r.file,
                    "format": r.format,
                    "started": str(r.started),
                    "finished": str(r.finished) if r.finished else None,
                    "counts": r.counts,
                }
                for r in records
            ],
            "next": None,
        },
    )


# -- the twin ----------------------------------------------------------------------------------
def _owner_for(svc: Service, who: Principal, person_id: str, purpose: Purpose) -> Any:
    person = (
        svc.gate.owner_access(who, person_id)
        if who.purposes is None
        else svc.gate.person_for(who, person_id)
    )
    if who.role is not Role.PERSON:
        raise ApiError(403, "Only the person themself can see the twin's outputs.")
    if who.purposes is not None and purpose not in who.purposes:
        raise ApiError(403, f"This token is not for the {purpose.value} purpose.")
    return person


@router.get(
    "/persons/{person_id}/overview",
    tags=["twin"],
    summary="Today against baselines, alerts, freshness",
    openapi_extra=scope("twin_core"),
)
async def get_overview(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)

    # Store work never runs on the event loop (another writer may hold the store).
    data = await asyncio.to_thread(svc.overview, who, person)
    return reply(request, data)


@router.get(
    "/persons/{person_id}/twin",
    tags=["twin"],
    summary="Twin state and baselines",
    openapi_extra=scope("twin_core"),
)
def get_twin(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)
    from lifetwin.capabilities.measures import derived_measures

    vault = svc.gate.vault(who, person)
    data = views.baselines(vault)
    data["measures"] = derived_measures(vault)
    return reply(request, data)


@router.get(
    "/persons/{person_id}/alerts",
    tags=["twin"],
    summary="Early warnings",
    openapi_extra=scope("forecasting"),
)
def get_alerts(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from lifetwin.capabilities.early_warning import deviation_alerts, illness_alerts
    from lifetwin.services.live import BrokerNotifier

    person = _owner_for(svc, who, person_id, Purpose.FORECASTING)
    notifier = BrokerNotifier(svc.broker, person.id)
    vault = svc.gate.vault(who, person)
    found = illness_alerts(vault, notifiers=[notifier]) + deviation_alerts(
        vault, notifiers=[notifier]
    )
    return reply(
        request,
        {"items": [a.model_dump(mode="json", exclude={"lineage"}) for a in found], "next": None},
    )


@router.get(
    "/persons/{person_id}/forecast",
    tags=["twin"],
    summary="Forecast with intervals: glucose (minutes ahead) or a daily metric (days ahead)",
    openapi_extra=scope("forecasting"),
)
def get_forecast(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    metric: str = Query(
        default="glucose",
        max_length=80,
        description="glucose, a numeric metric code, sleep or spending.",
    ),
    days: int = Query(default=7, ge=1, le=60, description="Days ahead, for daily metrics."),
) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.daily_forecast import MIN_DAYS, forecast_daily
    from lifetwin.capabilities.glucose_forecast import forecast_for_person

    person = _owner_for(svc, who, person_id, Purpose.FORECASTING)
    if metric != "glucose":
        daily = forecast_daily(svc.gate.vault(who, person), metric, days)
        if daily is None:
            raise ApiError(
                404,
                f"There are fewer than {MIN_DAYS} days of {metric} you allow forecasting on.",
            )
        return reply(request, asdict(daily))
    result = forecast_for_person(svc.gate.vault(who, person))
    if result is None:
        raise ApiError(
            404, "There is not enough CGM data (two days) or no forecasting grant to forecast."
        )
    return reply(
        request,
        {
            "from": views.iso(result.last_reading_ms),
            "last_mg_dl": result.last_mg_dl,
            "forecasts": [f.__dict__ for f in result.forecasts],
            "hypo_warning": result.hypo_warning,
            "trained_steps": result.trained_steps,
        },
    )


@router.get(
    "/persons/{person_id}/cgm",
    tags=["twin"],
    summary="CGM report (time in ranges, AGP)",
    openapi_extra=scope("read"),
)
def get_cgm(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(default=14, ge=0, le=3650),
    purpose: Purpose | None = None,
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    data = views.cgm(svc.gate.vault(who, person), chosen, recipient, days)
    if data is None:
        raise ApiError(404, "There are no CGM readings you may see in that range.")
    return reply(request, data)


@router.get(
    "/persons/{person_id}/risk",
    tags=["twin"],
    summary="Validated risk scores with their inputs",
    openapi_extra=scope("twin_core"),
)
def get_risk(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.risk import all_scores, gather_inputs

    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)
    inputs = gather_inputs(svc.gate.vault(who, person))
    return reply(
        request, {"items": [asdict(r) for r in all_scores(inputs)], "inputs": inputs.origin}
    )


@router.get(
    "/persons/{person_id}/insights",
    tags=["twin"],
    summary="Associations between daily metrics",
    openapi_extra=scope("twin_core"),
)
def get_insights(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    fdr: float = Query(default=0.1, gt=0, lt=1),
    min_days: int = Query(default=21, ge=10, le=3650),
) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.insights import daily_table, find_insights

    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)
    table, units = daily_table(svc.gate.vault(who, person), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    return reply(request, {"items": [asdict(i) for i in found], "metrics_tested": len(table)})


# -- consent, audit, report, export -------------------------------------------------------------
class GrantBody(BaseModel):
    scope: str = Field(description="all, domain:NAME, metric:CODE or source:NAME", max_length=200)
    purpose: Purpose
    recipient: str | None = Field(default=None, max_length=100)


@router.get(
    "/persons/{person_id}/consents",
    tags=["privacy"],
    summary="Consent grants and their history",
    openapi_extra=scope("self_access"),
)
def list_consents(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    ledger = svc.gate.vault(who, person).consents()
    return reply(
        request, {"items": [g.model_dump(mode="json") for g in ledger.grants], "next": None}
    )


@router.post(
    "/persons/{person_id}/consents",
    tags=["privacy"],
    summary="Grant consent",
    status_code=201,
    openapi_extra=scope("self_access"),
)
def grant_consent(
    person_id: str, body: GrantBody, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    made = svc.gate.vault(who, person).grant(
        Scope.parse(body.scope), body.purpose, recipient=body.recipient, granted_by="self"
    )
    svc.changed(person.id)
    return reply(request, made.model_dump(mode="json"), status=201)


@router.delete(
    "/persons/{person_id}/consents/{grant_id}",
    tags=["privacy"],
    summary="Revoke consent",
    openapi_extra=scope("self_access"),
)
def revoke_consent(
    person_id: str, grant_id: str, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    removed = svc.gate.vault(who, person).revoke(grant_id)
    svc.changed(person.id)
    return reply(request, {"revoked": grant_id, "derived_removed": removed})


@router.get(
    "/persons/{person_id}/audit",
    tags=["privacy"],
    summary="Who read or changed what, newest first",
    openapi_extra=scope("self_access"),
)
def read_audit(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    limit: int = Query(default=100, ge=1, le=1000),
    before: int | None = Query(default=None, ge=0),
) -> Response:
    from lifetwin.services.audit_view import actor_labels

    person = svc.gate.owner_access(who, person_id)
    entries = svc.gate.vault(who, person).audit_entries()
    entries = [e for e in reversed(entries) if before is None or e.seq < before]
    page = entries[:limit]
    more = len(entries) > limit
    labels = actor_labels(svc.store, svc.gate.accounts)
    items = [
        {
            "seq": e.seq,
            "time": views.iso(e.ts_ms),
            "action": e.action,
            "actor": labels.get(e.actor, e.actor),
            "purpose": e.purpose,
            "details": e.details,
        }
        for e in page
    ]
    headers = {"Link": _page_link(request, before=page[-1].seq)} if more and page else {}
    return reply(
        request,
        {"items": items, "next_before": page[-1].seq if more and page else None},
        headers=headers,
    )


@router.get(
    "/persons/{person_id}/audit/receipt",
    tags=["privacy"],
    summary="A signed receipt of the audit chain's head, to keep",
    openapi_extra=scope("self_access"),
)
def audit_receipt(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    vault = svc.gate.vault(who, person)
    vault.log_event("receipt", "self_access")
    return reply(request, svc.store.audit.receipt(person.id))


class ReceiptBody(BaseModel):
    receipt: dict[str, Any] = Field(description="A receipt saved earlier, as it was given.")


@router.post(
    "/persons/{person_id}/audit/verify",
    tags=["privacy"],
    summary="Check the audit chain, and that it still holds a receipt saved earlier",
    openapi_extra=scope("self_access"),
)
def audit_verify(
    person_id: str, body: ReceiptBody, request: Request, svc: Svc, who: Who
) -> Response:
    from lifetwin.services.audit_view import verify_person

    person = svc.gate.owner_access(who, person_id)
    return reply(request, verify_person(svc.store, person, body.receipt).model_dump())


@router.get(
    "/persons/{person_id}/access-report",
    tags=["privacy"],
    summary="The access report",
    openapi_extra=scope("self_access"),
)
def get_access_report(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from lifetwin.services.report import access_report

    person = svc.gate.owner_access(who, person_id)
    report = access_report(svc.store, person)
    return reply(request, report)


@router.get(
    "/persons/{person_id}/export",
    tags=["privacy"],
    summary="Download everything (csv, omh or fhir)",
    openapi_extra=scope("self_access"),
)
def export(
    person_id: str,
    svc: Svc,
    who: Who,
    format: str = Query(default="fhir", pattern="^(csv|omh|fhir)$"),
) -> Response:
    from lifetwin.services.export import export_person

    person = svc.gate.owner_access(who, person_id)
    suffix = {"csv": ".csv", "omh": ".json", "fhir": ".json"}[format]
    out = svc.upload_dir / f"export-{secrets.token_hex(8)}{suffix}"
    export_person(svc.store, person, format, out)
    media = "text/csv" if format == "csv" else "application/json"
    name = f"lifetwin-{person.id}-{format}{suffix}"
    from starlette.background import BackgroundTask

    return FileResponse(
        out, media_type=media, filename=name, background=BackgroundTask(out.unlink, missing_ok=True)
    )


# -- live ------------------------------------------------------------------------------------------
class WebhookBody(BaseModel):
    url: str = Field(max_length=2000, description="An https:// address on the internet.")
    events: list[str] = Field(default_factory=lambda: list(EVENTS), max_length=5)


@router.get(
    "/persons/{person_id}/webhooks",
    tags=["live"],
    summary="Registered webhooks and their latest deliveries",
    openapi_extra=scope("self_access"),
)
def list_webhooks(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    hooks = svc.gate.vault(who, person).webhooks()
    deliveries = [
        {
            "webhook_id": d.webhook_id,
            "event": d.event,
            "state": d.state,
            "status": d.status,
            "attempts": d.attempts,
        }
        for d in svc.broker.deliveries(person.id)
    ]
    return reply(
        request,
        {
            "items": [{"id": h["id"], "url": h["url"], "events": h["events"]} for h in hooks],
            "deliveries": deliveries,
        },
    )


@router.post(
    "/persons/{person_id}/webhooks",
    tags=["live"],
    summary="Register a webhook (secret shown once)",
    status_code=201,
    openapi_extra=scope("self_access"),
)
def add_webhook(
    person_id: str, body: WebhookBody, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    problem = webhook_problem(body.url, body.events, svc.broker.allow)
    if problem:
        raise ApiError(422, problem)
    hook = {
        "id": secrets.token_hex(6),
        "url": body.url.strip(),
        "secret": secrets.token_urlsafe(32),
        "events": body.events,
    }
    svc.gate.vault(who, person).add_webhook(hook)
    return reply(request, hook, status=201)


@router.delete(
    "/persons/{person_id}/webhooks/{hook_id}",
    tags=["live"],
    summary="Remove a webhook",
    status_code=204,
    openapi_extra=scope("self_access"),
)
def delete_webhook(person_id: str, hook_id: str, svc: Svc, who: Writer) -> Response:
    person = svc.gate.owner_access(who, person_id)
    if not svc.gate.vault(who, person).remove_webhook(hook_id):
        raise ApiError(404, f"There is no webhook '{hook_id}'.")
    return Response(status_code=204)


@router.get(
    "/persons/{person_id}/events",
    tags=["live"],
    summary="Server-sent events: new alerts and forecasts (from any worker)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    openapi_extra=scope("forecasting"),
)
async def events(
    person_id: str, request: Request, svc: Svc, who: Who, once: bool = False
) -> StreamingResponse:
    person = _owner_for(svc, who, person_id, Purpose.FORECASTING)
    broker = svc.broker
    last = await asyncio.to_thread(broker.last_id, person.id)
    deadline = asyncio.get_running_loop().time() + svc.settings.sse_max_s

    async def stream() -> Any:
        nonlocal last
        yield f": connected {datetime.now(UTC).isoformat()}\n\n"
        seen = -1
        idle = 0.0
        polled = 0.0
        loop = asyncio.get_running_loop()
        while not await request.is_disconnected() and loop.time() < deadline:
            signal = broker.signal(person.id)
            now = loop.time()
            # Look in the store when a worker said something arrived, else every 250 ms.
            if signal != seen or now - polled >= 0.25:
                seen, polled = signal, now
                found = await asyncio.to_thread(broker.read, person.id, last)
                for event_id, message in found:
                    last = event_id
                    idle = 0.0
                    data = json.dumps(message["data"])
                    yield f"id: {message['id']}\nevent: {message['event']}\ndata: {data}\n\n"
                if once and not found:
                    return
            await asyncio.sleep(0.05)
            idle += 0.05
            if idle >= 15:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
