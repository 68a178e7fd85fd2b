"""The privacy centre: consent switches per data category and purpose, the audit log in
plain language, receipts, the access report, export and erasure."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from lifetwin.api.deps import Svc, context
from lifetwin.api.security import SESSION_COOKIE, ApiError
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import population as ops_population
from lifetwin.operations import privacy as ops_privacy
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.web.layout import Viewer, form_csrf, own, page

router = APIRouter(include_in_schema=False)


# -- privacy center ---------------------------------------------------------------------------
@router.get("/p/{person_id}/privacy")
def privacy_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    flash: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    person = own(svc, who, person_id)
    ctx = context(svc, who, person, Purpose.SELF_ACCESS)
    matrix = ops_privacy.category_matrix(ctx)
    shared = ops_privacy.shares(ctx)
    by_category: dict[str, list[Any]] = {}
    for item in shared.items:
        by_category.setdefault(item.category, []).append(item)
    return page(
        request,
        "privacy.html",
        title="Privacy",
        section="privacy",
        who=who,
        person=person,
        flash=flash,
        error=error,
        categories=matrix.categories,
        purposes=matrix.purposes,
        active=set(matrix.allowed),
        other_grants=matrix.other_grants,
        shares=by_category,
        all_shares=shared.items,
        caregivers=[a.name for a in svc.gate.accounts.all() if a.role is Role.CAREGIVER],
        log=ops_privacy.audit(ctx, limit=60).items,
        research=ops_population.contributions(ctx),
    )


@router.post("/p/{person_id}/privacy/budget")
async def budget_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """The person sets their own privacy budget for research."""
    form = await form_csrf(request, who, svc)
    person = own(svc, who, person_id)
    try:
        epsilon = float(str(form.get("epsilon") or ""))
        found = ops_population.set_budget_limit(
            context(svc, who, person, Purpose.SELF_ACCESS), epsilon
        )
    except ValueError:
        message = "The budget must be a number, such as 5."
    except LifeTwinError as exc:
        message = str(exc)
    else:
        message = f"Your privacy budget is now ε {found.epsilon_limit:g}."
    return RedirectResponse(f"/p/{person.id}/privacy?flash={quote(message)}", status_code=303)


@router.post("/p/{person_id}/privacy/share")
async def share_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """Share a category with a caregiver's account, or stop a share."""
    form = await form_csrf(request, who, svc)
    person = own(svc, who, person_id)
    ctx = context(svc, who, person, Purpose.SELF_ACCESS)
    try:
        if form.get("grant"):
            ops_privacy.unshare(ctx, str(form["grant"]))
            message = "That share is stopped; they can no longer read it."
        else:
            made = ops_privacy.share(
                ctx, str(form.get("category") or ""), str(form.get("recipient") or "")
            )
            message = f"Your {made.category} data is now shared with {made.recipient}."
    except LifeTwinError as exc:
        return RedirectResponse(
            f"/p/{person.id}/privacy?error={quote(str(exc))}#sharing-h", status_code=303
        )
    svc.changed(person.id)
    return RedirectResponse(f"/p/{person.id}/privacy?flash={quote(message)}", status_code=303)


@router.post("/p/{person_id}/privacy/verify")
async def verify_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """Check the audit chain, and a receipt the person kept if they gave one."""
    import asyncio
    import json

    from lifetwin.services.audit_view import verify_person

    form = await form_csrf(request, who, svc)
    person = own(svc, who, person_id)
    upload = form.get("receipt")
    receipt = None
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(64 * 1024)
        try:
            receipt = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            receipt = {}
        if not isinstance(receipt, dict):
            receipt = {}
    found = await asyncio.to_thread(verify_person, svc.store, person, receipt)
    if found.intact:
        message = "Your history is intact and signed" + (
            ", and it still holds everything up to your receipt." if receipt is not None else "."
        )
    else:
        message = f"Your history does not check out: {found.problem}."
    return RedirectResponse(f"/p/{person.id}/privacy?flash={message}", status_code=303)


@router.post("/p/{person_id}/privacy/consent")
async def consent_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await form_csrf(request, who, svc)
    person = own(svc, who, person_id)
    category, purpose_name, action = (
        str(form.get(k) or "") for k in ("category", "purpose", "action")
    )
    if action not in ("grant", "revoke"):
        raise ApiError(422, "The action must be grant or revoke.")
    ctx = context(svc, who, person, Purpose.SELF_ACCESS)
    try:
        change = ops_privacy.set_category(ctx, category, purpose_name, action == "grant")
    except LifeTwinError as exc:
        raise ApiError(422, str(exc)) from None
    message = change.message
    svc.changed(person.id)
    return RedirectResponse(f"/p/{person.id}/privacy?flash={message}", status_code=303)


@router.get("/p/{person_id}/report")
def report_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    """The access report (GDPR Art. 15) as a page of the dashboard."""
    person = own(svc, who, person_id)
    ctx = context(svc, who, person, Purpose.SELF_ACCESS)
    return page(
        request,
        "report.html",
        title="Access report",
        section="privacy",
        who=who,
        person=person,
        report=ops_privacy.report(ctx),
    )


@router.post("/p/{person_id}/erase")
async def erase_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await form_csrf(request, who, svc)
    person = own(svc, who, person_id)
    if not svc.confirms(person, str(form.get("confirm") or "")):
        return RedirectResponse(
            f"/p/{person.id}/privacy?flash=Nothing was erased: the name typed was not "
            f"{person.name}.",
            status_code=303,
        )
    svc.erase(person, who)
    response = page(
        request,
        "message.html",
        title="Erased",
        heading="Your data is erased",
        message="Your key was destroyed and every value deleted. Your account is gone too.",
        link="/login",
        link_text="Back to the start",
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
