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
import queue
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from lifetwin.api import views
from lifetwin.api.live import Webhook
from lifetwin.api.security import SESSION_COOKIE, SESSION_HOURS, ApiError, Principal, limit_or_raise
from lifetwin.api.service import Service, digest_of, ndjson, summary_dict
from lifetwin.core.errors import LifeTwinError
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import AccountError, Role

router = APIRouter(prefix="/api/v1")

PersonId = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


Svc = Annotated[Service, Depends(service)]


async def principal(request: Request, svc: Svc) -> Principal:
    who = svc.gate.principal(request)
    assert who is not None
    return who


Who = Annotated[Principal, Depends(principal)]


async def csrf(request: Request, who: Who) -> Principal:
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


def _page_link(request: Request, **params: Any) -> str:
    url = request.url.include_query_params(**params)
    return f'<{url}>; rel="next"'


# -- session and tokens --------------------------------------------------------------------
class LoginBody(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    code: str = Field(max_length=12, description="The current TOTP code.")


def login(svc: Service, request: Request, name: str, password: str, code: str) -> tuple[Any, Any]:
    client = request.client.host if request.client else "?"
    key = f"{name.strip().lower()}|{client}"
    limit_or_raise(svc.login_limiter, key, "sign-in attempts", cost=0)
    try:
        with svc.lock:
            account = svc.gate.accounts.authenticate(name, password, code)
            for person_id in [account.person_id] if account.person_id else []:
                vault = svc.store.vault(svc.store.person(person_id), actor=f"person:{account.name}")
                vault.log_event("login", "self_access", account=account.name, address=client)
    except LifeTwinError as exc:
        limit_or_raise(svc.login_limiter, key, "sign-in attempts")
        raise ApiError(401, str(exc), "Unauthorized") from None
    svc.login_limiter.reset(key)
    return account, svc.gate.new_session(account.name)


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


@router.post("/session", tags=["auth"], summary="Sign in (password and TOTP code)")
def create_session(body: LoginBody, request: Request, svc: Svc) -> Response:
    account, session = login(svc, request, body.name, body.password, body.code)
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


@router.delete("/session", tags=["auth"], summary="Sign out", status_code=204)
def delete_session(request: Request, svc: Svc, who: Writer) -> Response:
    if who.session is not None:
        svc.gate.end_session(who.session.id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", tags=["auth"], summary="Who is signed in")
def me(request: Request, who: Who) -> Response:
    return reply(
        request,
        {
            "account": who.account,
            "role": who.role.value,
            "person_id": who.person_id,
            "via": who.via,
            "purposes": sorted(p.value for p in who.purposes) if who.purposes is not None else None,
        },
    )


class TokenBody(BaseModel):
    person_id: str = Field(max_length=64)
    purposes: list[Purpose] = Field(min_length=1)
    days: float = Field(default=90, gt=0, le=3650)
    label: str = Field(default="", max_length=100)


@router.post(
    "/tokens", tags=["auth"], summary="Make a scoped API token (shown once)", status_code=201
)
def create_token(body: TokenBody, request: Request, svc: Svc, who: Writer) -> Response:
    if who.via == "token":
        raise ApiError(403, "Tokens are made from a signed-in session, not with another token.")
    with svc.lock:
        svc.gate.person_for(who, body.person_id)
        try:
            made = svc.gate.accounts.issue_token(
                svc.gate.accounts.get(who.account),
                body.person_id,
                body.purposes,
                body.days,
                body.label,
            )
        except AccountError as exc:
            raise ApiError(403, str(exc)) from None
        vault = svc.gate.vault(who, svc.store.person(body.person_id))
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


@router.get("/tokens", tags=["auth"], summary="Your tokens (never their secrets)")
def list_tokens(request: Request, svc: Svc, who: Who) -> Response:
    with svc.lock:
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


@router.delete("/tokens/{token_id}", tags=["auth"], summary="Revoke a token", status_code=204)
def revoke_token(token_id: str, svc: Svc, who: Writer) -> Response:
    with svc.lock:
        token = svc.gate.accounts.token(token_id)
        if token is None or token.account != who.account:
            raise ApiError(404, f"There is no token '{token_id}' of yours.")
        svc.gate.accounts.revoke_token(token_id)
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


@router.get("/admin/status", tags=["admin"], summary="Service status (no personal data)")
def admin_status(request: Request, svc: Svc, who: Annotated[Principal, Depends(admin)]) -> Response:
    with svc.lock:
        accounts = svc.gate.accounts.all()
        persons = len(svc.store.backend.person_rows())
    return reply(
        request,
        {
            "backend": svc.store.backend.describe(),
            "persons": persons,
            "accounts": {r.value: sum(a.role is r for a in accounts) for r in Role},
            "import_jobs_running": sum(j.state == "running" for j in svc.jobs.values()),
        },
    )


@router.post(
    "/admin/persons", tags=["admin"], summary="Create a person and their account", status_code=201
)
def admin_create_person(
    body: NewPersonBody, request: Request, svc: Svc, who: Annotated[Principal, Depends(csrf)]
) -> Response:
    _require_admin(who)
    with svc.lock:
        person = svc.store.add_person(body.name)
        try:
            account = svc.gate.accounts.create(body.account, body.password, Role.PERSON, person.id)
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
    "/admin/caregivers", tags=["admin"], summary="Create a caregiver account", status_code=201
)
def admin_create_caregiver(
    body: NewCaregiverBody, request: Request, svc: Svc, who: Annotated[Principal, Depends(csrf)]
) -> Response:
    _require_admin(who)
    with svc.lock:
        account = svc.gate.accounts.create(body.account, body.password, Role.CAREGIVER)
    return reply(
        request,
        {"account": account.name, "totp_uri": account.guard().provisioning_uri(account.name)},
        status=201,
    )


# -- persons -------------------------------------------------------------------------------
@router.get("/persons", tags=["persons"], summary="The persons you can see")
def list_persons(request: Request, svc: Svc, who: Who) -> Response:
    people = svc.gate.visible_persons(who)
    return reply(request, {"items": [{"id": p.id, "name": p.name} for p in people], "next": None})


@router.get("/persons/{person_id}", tags=["persons"], summary="One person")
def get_person(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    with svc.lock:
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


@router.get("/persons/{person_id}/streams", tags=["data"], summary="Streams you may see")
def list_streams(
    person_id: str, request: Request, svc: Svc, who: Who, purpose: Purpose | None = None
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    with svc.lock:
        vault = svc.gate.vault(who, person)
        items = views.streams(vault, chosen, recipient)
        vault.log_event("view", chosen.value, what="streams", recipient=recipient)
    return reply(request, {"items": items, "next": None})


@router.get(
    "/persons/{person_id}/observations", tags=["data"], summary="A metric's values in a time range"
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
    with svc.lock:
        vault = svc.gate.vault(who, person)
        data = views.series(vault, metric, chosen, recipient, start, end, every, limit, after_ms)
    headers = {}
    if data["next_after_ms"] is not None:
        headers["Link"] = _page_link(request, after_ms=data["next_after_ms"])
    return reply(request, data, headers=headers)


class ObservationIn(BaseModel):
    metric: str = Field(description="A metric code, e.g. heart_rate or glucose.")
    value: float
    unit: str | None = Field(default=None, description="Converted to the metric's unit.")
    time: str | int = Field(description="ISO 8601 with offset, or epoch milliseconds.")
    end: str | int | None = None
    source: str = "api"
    tz_min: int = 0


class ObservationsIn(BaseModel):
    observations: list[ObservationIn]


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its $defs inlined (for openapi_extra)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].split("/")[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


@router.post(
    "/persons/{person_id}/observations",
    tags=["data"],
    summary="Ingest observations (JSON or NDJSON); all are stored or none",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": _inline(ObservationsIn.model_json_schema())},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def ingest_observations(person_id: str, request: Request, svc: Svc, who: Writer) -> Response:
    person = svc.gate.person_for(who, person_id)
    if who.role is not Role.PERSON:
        raise ApiError(403, "Only the person's own account or tokens can add data.")
    limit_or_raise(svc.ingest_limiter, f"{who.account}|{who.via}", "ingest requests")
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        items = list(ndjson(body, svc.settings.max_batch))
    elif kind == "application/json":
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"The body is not JSON ({exc.args[0]}).") from None
        found = raw.get("observations") if isinstance(raw, dict) else raw
        if not isinstance(found, list):
            raise ApiError(422, 'The body must be {"observations": [...]} or a JSON array.')
        items = found
    else:
        raise ApiError(415, f"Send application/json or application/x-ndjson, not {kind}.")
    if not items:
        raise ApiError(422, "There are no observations in the body.")
    if len(items) > svc.settings.max_batch:
        raise ApiError(413, f"At most {svc.settings.max_batch:,} observations per request.")
    summary = await asyncio.to_thread(svc.ingest, person, items, digest_of(body), "api")
    return reply(request, summary_dict(summary), status=201)


# -- imports -----------------------------------------------------------------------------------
@router.post(
    "/persons/{person_id}/imports",
    tags=["data"],
    summary="Upload an export file to import",
    status_code=202,
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
    person = svc.gate.owner_access(who, person_id)
    job = await svc.receive_upload(person, file, format or None)
    location = f"/api/v1/persons/{person_id}/imports/{job.id}"
    return reply(request, job.public(), status=202, headers={"Location": location})


@router.get(
    "/persons/{person_id}/imports/{job_id}",
    tags=["data"],
    summary="Progress and summary of an upload",
)
def import_status(person_id: str, job_id: str, request: Request, svc: Svc, who: Who) -> Response:
    svc.gate.owner_access(who, person_id)
    job = svc.jobs.get(job_id)
    if job is None or job.person_id != person_id:
        raise ApiError(404, f"There is no import '{job_id}' for this person.")
    return reply(request, job.public())


@router.get("/persons/{person_id}/imports", tags=["data"], summary="Past imports")
def list_imports(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
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
)
async def get_overview(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)

    # The common case (a cached overview, a free store) is a few tens of microseconds:
    # done on the event loop; anything that could wait goes to a worker thread.
    data = svc.overview_at_once(who, person)
    if data is None:
        data = await asyncio.to_thread(svc.overview, who, person)
    return reply(request, data)


@router.get("/persons/{person_id}/twin", tags=["twin"], summary="Twin state and baselines")
def get_twin(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)
    from lifetwin.capabilities.measures import derived_measures

    with svc.lock:
        vault = svc.gate.vault(who, person)
        data = views.baselines(vault)
        data["measures"] = derived_measures(vault)
    return reply(request, data)


@router.get("/persons/{person_id}/alerts", tags=["twin"], summary="Early warnings")
def get_alerts(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from lifetwin.api.live import BrokerNotifier
    from lifetwin.capabilities.early_warning import deviation_alerts, illness_alerts

    person = _owner_for(svc, who, person_id, Purpose.FORECASTING)
    notifier = BrokerNotifier(svc.broker, person.id)
    with svc.lock:
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
        with svc.lock:
            daily = forecast_daily(svc.gate.vault(who, person), metric, days)
        if daily is None:
            raise ApiError(
                404,
                f"There are fewer than {MIN_DAYS} days of {metric} you allow forecasting on.",
            )
        return reply(request, asdict(daily))
    with svc.lock:
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


@router.get("/persons/{person_id}/cgm", tags=["twin"], summary="CGM report (time in ranges, AGP)")
def get_cgm(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(default=14, ge=0, le=3650),
    purpose: Purpose | None = None,
) -> Response:
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    with svc.lock:
        data = views.cgm(svc.gate.vault(who, person), chosen, recipient, days)
    if data is None:
        raise ApiError(404, "There are no CGM readings you may see in that range.")
    return reply(request, data)


@router.get(
    "/persons/{person_id}/risk", tags=["twin"], summary="Validated risk scores with their inputs"
)
def get_risk(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.risk import all_scores, gather_inputs

    person = _owner_for(svc, who, person_id, Purpose.TWIN_CORE)
    with svc.lock:
        inputs = gather_inputs(svc.gate.vault(who, person))
    return reply(
        request, {"items": [asdict(r) for r in all_scores(inputs)], "inputs": inputs.origin}
    )


@router.get(
    "/persons/{person_id}/insights", tags=["twin"], summary="Associations between daily metrics"
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
    with svc.lock:
        table, units = daily_table(svc.gate.vault(who, person), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    return reply(request, {"items": [asdict(i) for i in found], "metrics_tested": len(table)})


# -- consent, audit, report, export -------------------------------------------------------------
class GrantBody(BaseModel):
    scope: str = Field(description="all, domain:NAME, metric:CODE or source:NAME", max_length=200)
    purpose: Purpose
    recipient: str | None = Field(default=None, max_length=100)


@router.get(
    "/persons/{person_id}/consents", tags=["privacy"], summary="Consent grants and their history"
)
def list_consents(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
        ledger = svc.gate.vault(who, person).consents()
    return reply(
        request, {"items": [g.model_dump(mode="json") for g in ledger.grants], "next": None}
    )


@router.post(
    "/persons/{person_id}/consents", tags=["privacy"], summary="Grant consent", status_code=201
)
def grant_consent(
    person_id: str, body: GrantBody, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
        made = svc.gate.vault(who, person).grant(
            Scope.parse(body.scope), body.purpose, recipient=body.recipient, granted_by="self"
        )
    svc.changed(person.id)
    return reply(request, made.model_dump(mode="json"), status=201)


@router.delete(
    "/persons/{person_id}/consents/{grant_id}", tags=["privacy"], summary="Revoke consent"
)
def revoke_consent(
    person_id: str, grant_id: str, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
        removed = svc.gate.vault(who, person).revoke(grant_id)
    svc.changed(person.id)
    return reply(request, {"revoked": grant_id, "derived_removed": removed})


@router.get(
    "/persons/{person_id}/audit", tags=["privacy"], summary="Who read or changed what, newest first"
)
def read_audit(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    limit: int = Query(default=100, ge=1, le=1000),
    before: int | None = Query(default=None, ge=0),
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
        entries = svc.gate.vault(who, person).audit_entries()
    entries = [e for e in reversed(entries) if before is None or e.seq < before]
    page = entries[:limit]
    more = len(entries) > limit
    items = [
        {
            "seq": e.seq,
            "time": views.iso(e.ts_ms),
            "action": e.action,
            "actor": e.actor,
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


@router.get("/persons/{person_id}/access-report", tags=["privacy"], summary="The access report")
def get_access_report(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from lifetwin.services.report import access_report

    person = svc.gate.owner_access(who, person_id)
    with svc.lock:
        report = access_report(svc.store, person)
    return reply(request, report)


@router.get(
    "/persons/{person_id}/export",
    tags=["privacy"],
    summary="Download everything (csv, omh or fhir)",
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
    with svc.lock:
        export_person(svc.store, person, format, out)
    media = "text/csv" if format == "csv" else "application/json"
    name = f"lifetwin-{person.id}-{format}{suffix}"
    from starlette.background import BackgroundTask

    return FileResponse(
        out, media_type=media, filename=name, background=BackgroundTask(out.unlink, missing_ok=True)
    )


# -- live ------------------------------------------------------------------------------------------
class WebhookBody(BaseModel):
    url: str = Field(pattern=r"^https?://", max_length=2000)
    events: list[str] = Field(default_factory=lambda: ["alert", "forecast"])


@router.get("/persons/{person_id}/webhooks", tags=["live"], summary="Registered webhooks")
def list_webhooks(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = svc.gate.owner_access(who, person_id)
    hooks = svc.webhooks(person.id)
    deliveries = [
        d.__dict__ for d in svc.broker.deliveries if d.webhook_id in {h.id for h in hooks}
    ]
    return reply(
        request,
        {
            "items": [{"id": h.id, "url": h.url, "events": h.events} for h in hooks],
            "deliveries": deliveries[-50:],
        },
    )


@router.post(
    "/persons/{person_id}/webhooks",
    tags=["live"],
    summary="Register a webhook (secret shown once)",
    status_code=201,
)
def add_webhook(
    person_id: str, body: WebhookBody, request: Request, svc: Svc, who: Writer
) -> Response:
    person = svc.gate.owner_access(who, person_id)
    unknown = set(body.events) - {"alert", "forecast"}
    if unknown:
        raise ApiError(422, f"Unknown events {sorted(unknown)}: use alert and forecast.")
    target = urlsplit(body.url)
    loopback = target.hostname in ("127.0.0.1", "localhost", "::1")
    if target.scheme != "https" and not loopback:
        raise ApiError(422, "A webhook needs an https:// address (http:// only to this machine).")
    hook = Webhook(
        id=secrets.token_hex(6), url=body.url, secret=secrets.token_urlsafe(32), events=body.events
    )
    with svc.lock:
        vault = svc.gate.vault(who, person)
        svc.save_webhooks(vault, [*svc.webhooks(person.id), hook])
        vault.log_event("webhook", "self_access", url=body.url, events=body.events)
    return reply(
        request,
        {"id": hook.id, "url": hook.url, "secret": hook.secret, "events": hook.events},
        status=201,
    )


@router.delete(
    "/persons/{person_id}/webhooks/{hook_id}",
    tags=["live"],
    summary="Remove a webhook",
    status_code=204,
)
def delete_webhook(person_id: str, hook_id: str, svc: Svc, who: Writer) -> Response:
    person = svc.gate.owner_access(who, person_id)
    hooks = svc.webhooks(person.id)
    if not any(h.id == hook_id for h in hooks):
        raise ApiError(404, f"There is no webhook '{hook_id}'.")
    with svc.lock:
        svc.save_webhooks(svc.gate.vault(who, person), [h for h in hooks if h.id != hook_id])
    return Response(status_code=204)


@router.get(
    "/persons/{person_id}/events",
    tags=["live"],
    summary="Server-sent events: new alerts and forecasts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    person_id: str, request: Request, svc: Svc, who: Who, once: bool = False
) -> StreamingResponse:
    person = _owner_for(svc, who, person_id, Purpose.FORECASTING)
    subscription = svc.broker.subscribe(person.id)

    async def stream() -> Any:
        try:
            yield f": connected {datetime.now(UTC).isoformat()}\n\n"
            idle = 0.0
            while not await request.is_disconnected():
                try:
                    message = subscription.get_nowait()
                except queue.Empty:
                    if once:
                        return
                    await asyncio.sleep(0.2)
                    idle += 0.2
                    if idle >= 15:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                idle = 0.0
                data = json.dumps(message["data"])
                yield f"id: {message['id']}\nevent: {message['event']}\ndata: {data}\n\n"
        finally:
            svc.broker.unsubscribe(person.id, subscription)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
