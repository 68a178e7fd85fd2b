"""Nightscout's REST API v1 (the part its common clients use), so that uploaders (xDrip+,
Loop, AndroidAPS' documents, the Nightscout uploaders) push to LifeTwin unchanged and
followers (Home Assistant's py-nightscout, Loop's NightscoutKit) read back from it.

Point a client at ``http(s)://HOST:PORT`` with a LifeTwin token of the person as its API
secret: clients send ``api-secret: sha1(secret)``, which LifeTwin looks up by a keyed
digest (the store holds nothing a client could send). The token itself works too — as
``api-secret``, ``api-secret: token=<token>`` (py-nightscout's form), ``?token=`` or
``Authorization: Bearer``. Uploading needs the token's ``write`` scope; reading needs a
purpose (self_access, or the token's first purpose).

The routes only parse and render: what each answers is an operation of
:mod:`lifetwin.services.nightscout` (docs/api.md lists the routes, and those that are not
served). A batch is all or nothing: one document that cannot be read refuses the request
(400, naming the item) and stores nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response

from lifetwin.api.deps import reply, scope, service
from lifetwin.api.security import ApiError, Principal
from lifetwin.api.service import Service
from lifetwin.core import jsonsafe
from lifetwin.privacy.consent import Purpose
from lifetwin.services import nightscout as ns
from lifetwin.services.accounts import Role
from lifetwin.store.vault import Person, Vault

router = APIRouter(prefix="/api/v1", tags=["nightscout"])
# Nightscout's own JSON documents (its wire format is the contract; docs/api.md lists the
# fields each route answers with).
LIST = list[dict[str, Any]]
OBJECT = dict[str, Any]
MAYBE = dict[str, Any] | None
ANY = list[dict[str, Any]] | dict[str, Any]
T = TypeVar("T")

_COUNT = {
    "name": "count",
    "in": "query",
    "required": False,
    "description": "How many, newest first (0: Nightscout's default). Queries: "
    "find[field]=value and find[field][$gte|$gt|$lte|$lt|$eq|$ne|$exists]=value; time "
    "fields (date, dateString, created_at, startDate, ...) take milliseconds or ISO 8601.",
    "schema": {"type": "integer", "minimum": 0, "maximum": ns.MAX_COUNT},
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}},
                ]
            }
        }
    },
}


def _spec(name: str, *, count: bool = False, body: bool = False) -> dict[str, Any]:
    extra = scope(name)
    if count:
        extra["parameters"] = [_COUNT]
    if body:
        extra["requestBody"] = _BODY
    return extra


def _credentials(request: Request, svc: Service, *, required: bool) -> Principal | None:
    secret = request.headers.get("api-secret", "").strip()
    if secret:
        if secret.lower().startswith("token="):
            return svc.gate.token_principal(secret[len("token=") :])
        if secret.startswith("lt_"):
            return svc.gate.token_principal(secret)
        return svc.gate.api_secret_principal(secret)
    token = request.query_params.get("token")
    if token:
        return svc.gate.token_principal(token)
    who = svc.gate.principal(request, required=required)
    if who is not None and who.via == "session" and request.method not in ("GET", "HEAD"):
        svc.gate.check_csrf(who, request.headers.get("x-csrf-token"))
    return who


def client(request: Request, svc: Annotated[Service, Depends(service)]) -> Principal:
    who = _credentials(request, svc, required=True)
    assert who is not None
    return who


Client = Annotated[Principal, Depends(client)]
Svc = Annotated[Service, Depends(service)]


def _person(svc: Service, who: Principal) -> Person:
    person_id = who.token_person or who.person_id
    if who.role is not Role.PERSON or person_id is None:
        raise ApiError(403, "The Nightscout API needs a token of the person's own account.")
    return svc.gate.person_for(who, person_id)


def _read_purpose(who: Principal) -> Purpose:
    """What a client's token reads for: self_access if it has it, else its first purpose."""
    if who.purposes is None or Purpose.SELF_ACCESS in who.purposes:
        return Purpose.SELF_ACCESS
    if not who.purposes:
        raise ApiError(403, "This token can only add data; reading needs a purpose.")
    return min(who.purposes)


def _refused(call: Callable[[], T]) -> T:
    try:
        return call()
    except ns.RefusedError as exc:
        raise ApiError(exc.status, str(exc)) from None


def _reader(svc: Service, who: Principal) -> tuple[Vault, Purpose]:
    person = _person(svc, who)
    purpose = _read_purpose(who)
    return svc.gate.vault(who, person), purpose


def _query(request: Request) -> ns.Query:
    return _refused(lambda: ns.parse_query(request.query_params.multi_items()))


async def _body(request: Request, svc: Service) -> list[Any]:
    raw = await request.body()
    try:
        parsed = jsonsafe.loads(raw)
    except jsonsafe.JsonError as exc:
        raise ApiError(422 if "JSON (" not in str(exc) else 400, str(exc)) from None
    docs = parsed if isinstance(parsed, list) else [parsed]
    if len(docs) > svc.settings.max_batch:
        raise ApiError(413, f"At most {svc.settings.max_batch:,} documents per request.")
    return docs


async def _upload(request: Request, svc: Service, who: Principal, kind: str) -> list[Any]:
    person = _person(svc, who)
    svc.gate.require_write(who)
    settings = svc.settings
    svc.gate.charge(
        f"ingest|{who.account}|nightscout",
        settings.ingest_requests,
        settings.ingest_window_s,
        "uploads",
    )
    docs = await _body(request, svc)
    vault = svc.gate.vault(who, person)
    stored = await asyncio.to_thread(_refused, lambda: ns.upload(svc.store, vault, kind, docs))
    svc.after_write(person)
    return stored


# -- entries -------------------------------------------------------------------------------
@router.get(
    "/entries",
    response_model=LIST,
    summary="Nightscout: newest entries",
    openapi_extra=_spec("any_purpose", count=True),
)
@router.get("/entries.json", include_in_schema=False)
def get_entries(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    query = _query(request)
    return reply(request, _refused(lambda: ns.entries(vault, query, purpose=purpose)))


@router.get(
    "/entries/current.json",
    response_model=LIST,
    summary="Nightscout: the newest sensor glucose value",
    openapi_extra=_spec("any_purpose"),
)
@router.get("/entries/current", include_in_schema=False)
def get_current_entry(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    found = ns.entries(vault, ns.Query(count=1), purpose=purpose, kind="sgv")
    return reply(request, found)


@router.get(
    "/entries/{spec}",
    response_model=ANY,
    summary="Nightscout: entries of one type (sgv, mbg, cal; .json optional) or one by _id",
    openapi_extra=_spec("any_purpose", count=True),
)
def get_entries_of(
    request: Request, svc: Svc, who: Client, spec: Annotated[str, Path(max_length=64)]
) -> Response:
    vault, purpose = _reader(svc, who)
    name = spec.removesuffix(".json").lower()
    query = _query(request)
    if name in ns.ENTRY_TYPES:
        return reply(request, ns.entries(vault, query, purpose=purpose, kind=name))
    if ns.OBJECT_ID.match(name):
        found = ns.entry(vault, name, purpose=purpose)
        if found is not None:
            return reply(request, [found])
        raise ApiError(404, f"There is no entry with the _id '{name}'.")
    raise ApiError(404, f"'{spec}' is no entry type (sgv, mbg, cal) and no entry _id.")


@router.post(
    "/entries",
    response_model=LIST,
    summary="Nightscout: upload entries",
    openapi_extra=_spec("write", body=True),
)
@router.post("/entries.json", include_in_schema=False)
async def post_entries(request: Request, svc: Svc, who: Client) -> Response:
    return reply(request, await _upload(request, svc, who, "entries"))


# -- treatments ----------------------------------------------------------------------------
@router.get(
    "/treatments",
    response_model=LIST,
    summary="Nightscout: newest treatments",
    openapi_extra=_spec("any_purpose", count=True),
)
@router.get("/treatments.json", include_in_schema=False)
def get_treatments(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    query = _query(request)
    return reply(request, ns.treatments(vault, query, purpose=purpose))


@router.post(
    "/treatments",
    response_model=LIST,
    summary="Nightscout: upload treatments",
    openapi_extra=_spec("write", body=True),
)
@router.post("/treatments.json", include_in_schema=False)
async def post_treatments(request: Request, svc: Svc, who: Client) -> Response:
    return reply(request, await _upload(request, svc, who, "treatments"))


@router.put(
    "/treatments",
    response_model=ANY,
    summary="Nightscout: update or insert treatments (by _id)",
    openapi_extra=_spec("write", body=True),
)
@router.put("/treatments.json", include_in_schema=False)
async def put_treatments(request: Request, svc: Svc, who: Client) -> Response:
    stored = await _upload(request, svc, who, "treatments")
    return reply(request, stored[0] if len(stored) == 1 else stored)


@router.delete(
    "/treatments/{treatment_id}",
    response_model=OBJECT,
    summary="Nightscout: delete a treatment (and what was read from it)",
    openapi_extra=_spec("write"),
)
async def delete_treatment(
    request: Request,
    svc: Svc,
    who: Client,
    treatment_id: Annotated[str, Path(max_length=64)],
) -> Response:
    person = _person(svc, who)
    svc.gate.require_write(who)
    if not ns.OBJECT_ID.match(treatment_id):
        raise ApiError(404, f"There is no treatment with the _id '{treatment_id}'.")
    vault = svc.gate.vault(who, person)
    deleted = await asyncio.to_thread(ns.remove_treatment, svc.store, vault, treatment_id)
    if deleted:
        svc.after_write(person)
    # Nightscout answers 200 when nothing matched, so uploaders do not retry forever.
    return reply(request, {"acknowledged": True, "deletedCount": deleted})


# -- device status -------------------------------------------------------------------------
@router.get(
    "/devicestatus",
    response_model=LIST,
    summary="Nightscout: newest device status",
    openapi_extra=_spec("any_purpose", count=True),
)
@router.get("/devicestatus.json", include_in_schema=False)
def get_devicestatus(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    query = _query(request)
    return reply(request, ns.devicestatus(vault, query, purpose=purpose))


@router.post(
    "/devicestatus",
    response_model=LIST,
    summary="Nightscout: upload device status (loop, pump, uploader)",
    openapi_extra=_spec("write", body=True),
)
@router.post("/devicestatus.json", include_in_schema=False)
async def post_devicestatus(request: Request, svc: Svc, who: Client) -> Response:
    return reply(request, await _upload(request, svc, who, "devicestatus"))


# -- profiles ------------------------------------------------------------------------------
@router.get(
    "/profile",
    response_model=LIST,
    summary="Nightscout: profiles, newest startDate first",
    openapi_extra=_spec("any_purpose", count=True),
)
@router.get("/profile.json", include_in_schema=False)
@router.get("/profiles", include_in_schema=False)
@router.get("/profiles.json", include_in_schema=False)
def get_profiles(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    query = _query(request)
    return reply(request, ns.profiles(vault, query, purpose=purpose))


@router.get(
    "/profile/current",
    response_model=MAYBE,
    summary="Nightscout: the profile in force (null when there is none)",
    openapi_extra=_spec("any_purpose"),
)
@router.get("/profile/current.json", include_in_schema=False)
def get_current_profile(request: Request, svc: Svc, who: Client) -> Response:
    vault, purpose = _reader(svc, who)
    return reply(request, ns.current_profile(vault, purpose=purpose))


@router.post(
    "/profile",
    response_model=LIST,
    summary="Nightscout: upload profiles",
    openapi_extra=_spec("write", body=True),
)
@router.post("/profile.json", include_in_schema=False)
async def post_profile(request: Request, svc: Svc, who: Client) -> Response:
    return reply(request, await _upload(request, svc, who, "profile"))


@router.put(
    "/profile",
    response_model=ANY,
    summary="Nightscout: update or insert a profile (by _id)",
    openapi_extra=_spec("write", body=True),
)
@router.put("/profile.json", include_in_schema=False)
async def put_profile(request: Request, svc: Svc, who: Client) -> Response:
    stored = await _upload(request, svc, who, "profile")
    return reply(request, stored[0] if len(stored) == 1 else stored)


# -- status and authorization --------------------------------------------------------------
@router.get(
    "/status.json",
    response_model=OBJECT,
    summary="Nightscout: server status and settings clients check",
    openapi_extra=scope("none"),
)
@router.get("/status", include_in_schema=False)
def status(request: Request, svc: Svc) -> Response:
    """Without credentials: the defaults (mg/dl). With them (wrong ones: 401), the
    person's glucose unit."""
    who = _credentials(request, svc, required=False)
    vault = None
    if who is not None and who.role is Role.PERSON and (who.token_person or who.person_id):
        vault = svc.gate.vault(who, _person(svc, who))
    return reply(request, ns.server_status(ns.glucose_unit(vault)))


@router.get(
    "/verifyauth",
    response_model=OBJECT,
    summary="Nightscout: what the credentials sent allow",
    openapi_extra=scope("none"),
)
@router.get("/verifyauth.json", include_in_schema=False)
def verify_auth(request: Request, svc: Svc) -> Response:
    try:
        who = _credentials(request, svc, required=False)
    except ApiError:
        who = None
    if who is None or who.role is not Role.PERSON:
        return reply(request, ns.verify_auth(None, False))
    can_read = who.purposes is None or bool(who.purposes)
    return reply(request, ns.verify_auth(can_read, who.can_write))


@router.get(
    "/experiments/test",
    response_model=OBJECT,
    summary="Nightscout: do these credentials upload? (Loop checks this)",
    openapi_extra=scope("write"),
)
def experiments_test(request: Request, svc: Svc, who: Client) -> Response:
    _person(svc, who)
    svc.gate.require_write(who)
    return reply(request, {"status": "ok"})
