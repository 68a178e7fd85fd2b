"""A Nightscout-compatible subset, so CGM uploaders (xDrip+, Loop, AndroidAPS, the
Nightscout uploaders) can push to LifeTwin unchanged.

Point the uploader at ``http(s)://HOST:PORT`` with a LifeTwin token of the person as its
API secret: uploaders send ``api-secret: sha1(secret)``, which LifeTwin looks up by a
keyed digest (the store holds nothing an uploader could send). ``?token=<token>`` and
``Authorization: Bearer <token>`` work too. Uploading needs the token's ``write``
scope; reading needs a purpose (self_access, or the token's first purpose).

- ``POST /api/v1/entries`` (and ``.json``): sgv/mbg entries, one object or an array.
- ``POST /api/v1/treatments`` (and ``.json``): boluses, carbs, temp basals, notes.
- ``GET`` of both: the newest first, ``count`` of them (Nightscout's default 10).
- ``GET /api/v1/status.json``: what uploaders check before they upload.

A batch is all or nothing: one entry that is not a Nightscout document refuses the
request (400, naming the item) and stores nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from lifetwin import __version__
from lifetwin.api.deps import reply, scope, service
from lifetwin.api.security import ApiError, Principal
from lifetwin.api.service import Service
from lifetwin.core import jsonsafe
from lifetwin.core.model import Event, Problem
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.services.background import summary_dict
from lifetwin.services.importer import import_items
from lifetwin.sources.base import ReadOptions
from lifetwin.sources.cgm import nightscout_items
from lifetwin.store.vault import Person

router = APIRouter(prefix="/api/v1", tags=["nightscout"])
SOURCE = "nightscout-upload"


def uploader(request: Request, svc: Annotated[Service, Depends(service)]) -> Principal:
    secret = request.headers.get("api-secret")
    if secret:
        return svc.gate.api_secret_principal(secret)
    token = request.query_params.get("token")
    if token:
        return svc.gate.token_principal(token)
    who = svc.gate.principal(request)
    assert who is not None
    if who.via == "session":
        svc.gate.check_csrf(who, request.headers.get("x-csrf-token"))
    return who


Uploader = Annotated[Principal, Depends(uploader)]
Svc = Annotated[Service, Depends(service)]


def _person(svc: Service, who: Principal) -> Person:
    person_id = who.token_person or who.person_id
    if who.role is not Role.PERSON or person_id is None:
        raise ApiError(403, "Nightscout uploads need a token of the person's own account.")
    return svc.gate.person_for(who, person_id)


async def _docs(request: Request, svc: Service) -> list[tuple[int, Any]]:
    body = await request.body()
    try:
        raw = jsonsafe.loads(body)
    except jsonsafe.JsonError as exc:
        raise ApiError(422 if "JSON (" not in str(exc) else 400, str(exc)) from None
    docs = raw if isinstance(raw, list) else [raw]
    if len(docs) > svc.settings.max_batch:
        raise ApiError(413, f"At most {svc.settings.max_batch:,} documents per request.")
    return list(enumerate(docs, start=1))


async def _upload(request: Request, svc: Service, who: Principal, kind: str) -> Response:
    person = _person(svc, who)
    svc.gate.require_write(who)
    settings = svc.settings
    svc.gate.charge(
        f"ingest|{who.account}|nightscout",
        settings.ingest_requests,
        settings.ingest_window_s,
        "uploads",
    )
    docs = await _docs(request, svc)
    items = list(nightscout_items(docs, kind, SOURCE))
    problems = [i for i in items if isinstance(i, Problem)]
    if problems:
        first = problems[0]
        raise ApiError(400, f"Item {first.line} of the {kind} is refused: {first.reason}.")
    for number, doc in docs:
        is_treatment = isinstance(doc, dict) and "eventType" in doc
        if is_treatment != (kind == "treatments"):
            what = "a treatment (it has no eventType)" if kind == "treatments" else "an entry"
            raise ApiError(400, f"Item {number} of the {kind} is not {what}.")

    def run() -> Any:
        return import_items(
            svc.store,
            person,
            lambda _o: iter(items),
            label=f"nightscout {kind}",
            digest=hashlib.sha256(json.dumps([d for _, d in docs]).encode()).hexdigest(),
            fmt="nightscout",
            cursor_name=f"nightscout-upload-{kind}",
            options=ReadOptions(source=SOURCE),
        )

    summary = await asyncio.to_thread(run)
    if summary.fatal or summary.problem_count:
        raise ApiError(
            400,
            f"The {kind} could not be stored: "
            f"{summary_dict(summary)['problems'][:1] or summary.fatal}.",
        )
    svc.after_write(person)
    return reply(request, [d for _, d in docs])


@router.post("/entries", summary="Nightscout: upload CGM entries", openapi_extra=scope("write"))
@router.post("/entries.json", include_in_schema=False)
async def post_entries(request: Request, svc: Svc, who: Uploader) -> Response:
    return await _upload(request, svc, who, "entries")


@router.post("/treatments", summary="Nightscout: upload treatments", openapi_extra=scope("write"))
@router.post("/treatments.json", include_in_schema=False)
async def post_treatments(request: Request, svc: Svc, who: Uploader) -> Response:
    return await _upload(request, svc, who, "treatments")


def _read_purpose(who: Principal) -> Purpose:
    """What an uploader's token reads for: self_access if it has it, else its first purpose."""
    if who.purposes is None or Purpose.SELF_ACCESS in who.purposes:
        return Purpose.SELF_ACCESS
    if not who.purposes:
        raise ApiError(403, "This token can only add data; reading needs a purpose.")
    return min(who.purposes)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get(
    "/entries", summary="Nightscout: newest CGM entries", openapi_extra=scope("any_purpose")
)
@router.get("/entries.json", include_in_schema=False)
def get_entries(
    request: Request, svc: Svc, who: Uploader, count: int = Query(default=10, ge=1, le=10_000)
) -> Response:
    person = _person(svc, who)
    purpose = _read_purpose(who)
    series = svc.gate.vault(who, person).read_series("glucose", purpose=purpose).tail(count)
    out = []
    for ms, value in zip(series.ts_ms.tolist()[::-1], series.values.tolist()[::-1], strict=True):
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        out.append(
            {
                "_id": f"{ms:x}",
                "type": "sgv",
                "sgv": round(value),
                "date": ms,
                "dateString": _iso(moment),
                "device": "lifetwin",
            }
        )
    return reply(request, out)


@router.get(
    "/treatments", summary="Nightscout: newest treatments", openapi_extra=scope("any_purpose")
)
@router.get("/treatments.json", include_in_schema=False)
def get_treatments(
    request: Request, svc: Svc, who: Uploader, count: int = Query(default=10, ge=1, le=10_000)
) -> Response:
    person = _person(svc, who)
    purpose = _read_purpose(who)
    found: list[Event] = []
    vault = svc.gate.vault(who, person)
    for name in ("event:insulin", "event:meal", "event:note"):
        found += [e for e in vault.read_records(name, purpose=purpose) if isinstance(e, Event)]
    found.sort(key=lambda e: e.start, reverse=True)
    out = []
    for event in found[:count]:
        doc: dict[str, Any] = {
            "created_at": _iso(event.start),
            "eventType": str(event.details.get("type", event.kind.value)),
        }
        if "insulin_u" in event.details:
            doc["insulin"] = event.details["insulin_u"]
        if "carbs_g" in event.details:
            doc["carbs"] = event.details["carbs_g"]
        if event.title:
            doc["notes"] = event.title
        out.append(doc)
    return reply(request, out)


@router.get(
    "/status.json", summary="Nightscout: server status for uploaders", openapi_extra=scope("none")
)
@router.get("/status", include_in_schema=False)
def status(request: Request) -> Response:
    return reply(
        request,
        {
            "status": "ok",
            "name": "LifeTwin",
            "version": __version__,
            "apiEnabled": True,
            "serverTime": _iso(datetime.now(UTC)),
            "settings": {"units": "mg/dl"},
        },
    )
