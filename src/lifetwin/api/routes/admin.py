"""Operating the service: status and accounts (never personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from lifetwin.api.deps import Admin, AdminWriter, Svc, reply, scope
from lifetwin.operations.store import ServiceStatus, service_status
from lifetwin.services.accounts import AccountError, Role

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class NewPersonBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    account: str = Field(max_length=64)
    password: str = Field(min_length=10, max_length=1024)


class NewCaregiverBody(BaseModel):
    account: str = Field(max_length=64)
    password: str = Field(min_length=10, max_length=1024)


class NewAccountOut(BaseModel):
    account: str
    totp_uri: str
    person_id: str | None = None


@router.get(
    "/status",
    summary="Service status (no personal data)",
    response_model=ServiceStatus,
    openapi_extra=scope("admin"),
)
def admin_status(request: Request, svc: Svc, who: Admin) -> Response:
    return reply(request, service_status(svc.store))


@router.post(
    "/persons",
    summary="Create a person and their account",
    status_code=201,
    response_model=NewAccountOut,
    openapi_extra=scope("admin"),
)
def admin_create_person(
    body: NewPersonBody, request: Request, svc: Svc, who: AdminWriter
) -> Response:
    person = svc.store.add_person(body.name)
    try:
        account = svc.gate.accounts.create(
            body.account, body.password, Role.PERSON, person.id, actor=who.actor
        )
    except AccountError:
        svc.store.erase(person)
        raise
    out = NewAccountOut(
        account=account.name,
        totp_uri=account.guard().provisioning_uri(account.name),
        person_id=person.id,
    )
    return reply(request, out, status=201)


@router.post(
    "/caregivers",
    summary="Create a caregiver account",
    status_code=201,
    response_model=NewAccountOut,
    openapi_extra=scope("admin"),
)
def admin_create_caregiver(
    body: NewCaregiverBody, request: Request, svc: Svc, who: AdminWriter
) -> Response:
    account = svc.gate.accounts.create(body.account, body.password, Role.CAREGIVER, actor=who.actor)
    out = NewAccountOut(
        account=account.name, totp_uri=account.guard().provisioning_uri(account.name)
    )
    return reply(request, out, status=201)
