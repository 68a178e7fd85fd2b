"""What every route depends on: the service, who asks, CSRF, the reply with an ETag, the
scope a route declares, and the operation context built from the caller.

Routes parse, call one operation (``lifetwin.operations``), and return its model: no
business logic here or in a route.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from lifetwin.api.encoding import Encoded, encode
from lifetwin.api.security import ApiError, NotCachedError, Principal, cache_only
from lifetwin.api.service import Service
from lifetwin.operations.context import Context
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.store.vault import Person


def service_of(request: Request) -> Service:
    """The worker's service (without a dependency: FastAPI's cost per dependency and
    request is measurable on the hottest routes)."""
    svc: Service = request.app.state.service
    return svc


async def service(request: Request) -> Service:
    return service_of(request)


Svc = Annotated[Service, Depends(service)]


async def principal(request: Request) -> Principal:
    """The caller: from this worker's caches on the event loop, else in a worker thread
    (store work never runs on the event loop)."""
    gate = service_of(request).gate
    await gate.generations.fresh()
    try:
        with cache_only():
            who = gate.principal(request)
    except NotCachedError:
        who = await asyncio.to_thread(gate.principal, request)
    assert who is not None
    return who


Who = Annotated[Principal, Depends(principal)]


def csrf(request: Request, who: Who) -> Principal:
    """State-changing requests from a browser session need the CSRF header."""
    gate = request.app.state.service.gate
    gate.check_csrf(who, request.headers.get("x-csrf-token"))
    return who


Writer = Annotated[Principal, Depends(csrf)]


def admin(who: Who) -> Principal:
    if who.role is not Role.ADMIN:
        raise ApiError(403, "This needs an administrator account.")
    return who


def admin_writer(who: Writer) -> Principal:
    return admin(who)


Admin = Annotated[Principal, Depends(admin)]
AdminWriter = Annotated[Principal, Depends(admin_writer)]


def operator(who: Who) -> Principal:
    """A study operator (a session, or a token with the research scope)."""
    if who.role is not Role.OPERATOR:
        raise ApiError(403, "This needs a study operator's account.")
    if who.purposes is not None and Purpose.RESEARCH not in who.purposes:
        raise ApiError(403, "This needs a token with the research scope.")
    return who


def operator_writer(who: Writer) -> Principal:
    return operator(who)


Operator = Annotated[Principal, Depends(operator)]
OperatorWriter = Annotated[Principal, Depends(operator_writer)]


def reply(
    request: Request,
    payload: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON with a strong ETag; 304 when the client already has this version. ``payload``
    may be encoded already (:class:`Encoded`)."""
    found = payload if isinstance(payload, Encoded) else encode(payload)
    extra = {"ETag": found.etag, "Cache-Control": "private, no-cache", **(headers or {})}
    match = request.headers.get("if-none-match", "")
    if status == 200 and found.etag in [m.strip() for m in match.split(",")]:
        return Response(status_code=304, headers=extra)
    return Response(found.body, status_code=status, media_type="application/json", headers=extra)


def scope(name: str) -> dict[str, Any]:
    """The scope a route needs, in the spec (``x-lifetwin-scope``): a purpose, ``write``,
    ``read`` (the purpose asked for with ``?purpose=``, self_access by default),
    ``any_purpose``, ``account`` (no person's data), ``operator`` (a study's aggregates, for
    study operators), ``admin`` or ``none``."""
    return {"x-lifetwin-scope": name}


def page_link(request: Request, **params: Any) -> str:
    url = request.url.include_query_params(**params)
    return f'<{url}>; rel="next"'


def context(
    svc: Service, who: Principal, person: Person, purpose: Purpose, recipient: str | None = None
) -> Context:
    """The operation context of a caller reading for ``purpose`` (as ``recipient``)."""
    return Context(
        svc.store,
        person,
        actor=who.actor,
        purpose=purpose,
        recipient=recipient,
        _vault=svc.gate.vault(who, person),
    )


def reader(svc: Service, who: Principal, person_id: str, purpose: Purpose | None) -> Context:
    """For reads of data: the person, the purpose asked (self_access by default; sharing for
    a caregiver), or 403/404."""
    person, chosen, recipient = svc.gate.read_access(who, person_id, purpose)
    return context(svc, who, person, chosen, recipient)


def owner(svc: Service, who: Principal, person_id: str) -> Context:
    """For what only the person themself may do (their session or a self_access token)."""
    person = svc.gate.owner_access(who, person_id)
    return context(svc, who, person, Purpose.SELF_ACCESS)


def twin_reader(svc: Service, who: Principal, person_id: str, purpose: Purpose) -> Context:
    """For the twin's outputs: the person's own account, reading for the output's purpose
    (a token must carry it)."""
    person = (
        svc.gate.owner_access(who, person_id)
        if who.purposes is None
        else svc.gate.person_for(who, person_id)
    )
    if who.role is not Role.PERSON:
        raise ApiError(403, "Only the person themself can see the twin's outputs.")
    if who.purposes is not None and purpose not in who.purposes:
        raise ApiError(403, f"This token is not for the {purpose.value} purpose.")
    return context(svc, who, person, purpose)


def writer(svc: Service, who: Principal, person_id: str) -> Person:
    """The person, when the caller may add data for them (their own account, with a session
    or a token that has the write scope)."""
    person = svc.gate.person_for(who, person_id)
    if who.role is not Role.PERSON:
        raise ApiError(403, "Only the person's own account or tokens can add data.")
    svc.gate.require_write(who)
    return person
