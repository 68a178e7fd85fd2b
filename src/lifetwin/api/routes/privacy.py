"""The person's control: consent, the audit log and receipts, the access report, export."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from lifetwin.api.deps import Svc, Who, Writer, owner, page_link, reply, scope
from lifetwin.operations import privacy
from lifetwin.privacy.consent import Purpose
from lifetwin.services.audit_view import Verification

router = APIRouter(prefix="/api/v1/persons/{person_id}", tags=["privacy"])


class GrantBody(BaseModel):
    scope: str = Field(description="all, domain:NAME, metric:CODE or source:NAME", max_length=200)
    purpose: Purpose
    recipient: str | None = Field(default=None, max_length=100)


class ReceiptBody(BaseModel):
    receipt: dict[str, Any] = Field(description="A receipt saved earlier, as it was given.")


@router.get(
    "/consents",
    summary="Consent grants and their history",
    response_model=privacy.GrantList,
    openapi_extra=scope("self_access"),
)
def list_consents(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, privacy.consents(owner(svc, who, person_id)))


@router.post(
    "/consents",
    summary="Grant consent",
    status_code=201,
    response_model=privacy.GrantView,
    openapi_extra=scope("self_access"),
)
def grant_consent(
    person_id: str, body: GrantBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    made = privacy.grant(ctx, body.scope, body.purpose.value, recipient=body.recipient)
    svc.changed(ctx.person.id)
    return reply(request, made, status=201)


@router.delete(
    "/consents/{grant_id}",
    summary="Revoke consent",
    response_model=privacy.Revoked,
    openapi_extra=scope("self_access"),
)
def revoke_consent(
    person_id: str, grant_id: str, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    done = privacy.revoke(ctx, grant_id)
    svc.changed(ctx.person.id)
    return reply(request, done)


class ShareBody(BaseModel):
    category: str = Field(max_length=80, description="A data category, e.g. metabolic")
    recipient: str = Field(max_length=100, description="The caregiver's account name")


@router.get(
    "/shares",
    summary="What the person shares, with whom",
    response_model=privacy.ShareList,
    openapi_extra=scope("self_access"),
)
def list_shares(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, privacy.shares(owner(svc, who, person_id)))


@router.post(
    "/shares",
    summary="Share a data category with a caregiver's account",
    status_code=201,
    response_model=privacy.ShareView,
    openapi_extra=scope("self_access"),
)
def make_share(
    person_id: str, body: ShareBody, request: Request, svc: Svc, who: Writer
) -> Response:
    ctx = owner(svc, who, person_id)
    made = privacy.share(ctx, body.category, body.recipient)
    svc.changed(ctx.person.id)
    return reply(request, made, status=201)


@router.delete(
    "/shares/{grant_id}",
    summary="Stop a share",
    response_model=privacy.Revoked,
    openapi_extra=scope("self_access"),
)
def stop_share(person_id: str, grant_id: str, request: Request, svc: Svc, who: Writer) -> Response:
    ctx = owner(svc, who, person_id)
    done = privacy.unshare(ctx, grant_id)
    svc.changed(ctx.person.id)
    return reply(request, done)


@router.get(
    "/audit",
    summary="Who read or changed what, newest first",
    response_model=privacy.AuditPage,
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
    page = privacy.audit(owner(svc, who, person_id), limit=limit, before=before)
    headers = (
        {"Link": page_link(request, before=page.next_before)}
        if page.next_before is not None
        else {}
    )
    return reply(request, page, headers=headers)


@router.get(
    "/audit/receipt",
    summary="A signed receipt of the audit chain's head, to keep",
    response_model=privacy.Receipt,
    openapi_extra=scope("self_access"),
)
def audit_receipt(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, privacy.receipt(owner(svc, who, person_id)))


@router.post(
    "/audit/verify",
    summary="Check the audit chain, and that it still holds a receipt saved earlier",
    response_model=Verification,
    openapi_extra=scope("self_access"),
)
def audit_verify(
    person_id: str, body: ReceiptBody, request: Request, svc: Svc, who: Who
) -> Response:
    return reply(request, privacy.verify(owner(svc, who, person_id), body.receipt))


@router.get(
    "/access-report",
    summary="The access report",
    response_model=privacy.AccessReport,
    openapi_extra=scope("self_access"),
)
def get_access_report(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, privacy.report(owner(svc, who, person_id)))


@router.get(
    "/export",
    summary="Download everything (csv, omh or fhir)",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "description": "The export file",
        }
    },
    openapi_extra=scope("self_access"),
)
def export(
    person_id: str,
    svc: Svc,
    who: Who,
    format: str = Query(default="fhir", pattern="^(csv|omh|fhir)$"),
) -> FileResponse:
    ctx = owner(svc, who, person_id)
    suffix = {"csv": ".csv", "omh": ".json", "fhir": ".json"}[format]
    out = svc.upload_dir / f"export-{secrets.token_hex(8)}{suffix}"
    privacy.export(ctx, format, out)
    media = "text/csv" if format == "csv" else "application/json"
    name = f"lifetwin-{ctx.person.id}-{format}{suffix}"
    return FileResponse(
        out, media_type=media, filename=name, background=BackgroundTask(out.unlink, missing_ok=True)
    )
