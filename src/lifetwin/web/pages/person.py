"""The person's own pages: logging by hand, the profile form, and every metric held."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lifetwin.api.deps import Svc
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import manual
from lifetwin.operations import person as ops
from lifetwin.web.layout import Viewer, form_csrf, own_context, page

router = APIRouter(include_in_schema=False)

MOODS = (
    ("-1", "very unpleasant"),
    ("-0.5", "unpleasant"),
    ("0", "neutral"),
    ("0.5", "pleasant"),
    ("1", "very pleasant"),
)
ENERGIES = (("1", "exhausted"), ("2", "low"), ("3", "fine"), ("4", "good"), ("5", "full of energy"))


@router.get("/p/{person_id}/log")
def log_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    flash: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    return page(
        request,
        "log.html",
        title="Log",
        section="log",
        who=who,
        person=ctx.person,
        flash=flash,
        error=error,
        moods=MOODS,
        energies=ENERGIES,
        entries=manual.recent(ctx),
        zone=ops.zone_of(ctx),
    )


@router.post("/p/{person_id}/log")
async def log_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await form_csrf(request, who, svc)
    ctx = own_context(svc, who, person_id)
    field = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    try:
        at = None
        if field.get("at"):
            try:
                at = datetime.fromisoformat(field["at"])
            except ValueError:
                raise manual.LogError(f"'{field['at']}' is not a date and time.") from None
        done = manual.log(
            ctx,
            at=at,
            mood=_number(field.get("mood"), "mood"),
            energy=_number(field.get("energy"), "energy"),
            note=field.get("note"),
            blood_pressure=field.get("blood_pressure"),
            values={k: field.get(k) for k in manual.VALUES},
        )
    except LifeTwinError as exc:
        return RedirectResponse(f"/p/{ctx.person.id}/log?error={quote(str(exc))}", status_code=303)
    svc.after_write(ctx.person)
    return RedirectResponse(f"/p/{ctx.person.id}/log?flash={quote(done.message)}", status_code=303)


def _number(text: str | None, what: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise manual.LogError(f"'{text[:40]}' is not a number for {what}.") from None


@router.get("/p/{person_id}/profile")
def profile_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    flash: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    return page(
        request,
        "profile.html",
        title="Profile",
        section="profile",
        who=who,
        person=ctx.person,
        flash=flash,
        error=error,
        found=ops.profile(ctx),
    )


@router.post("/p/{person_id}/profile")
async def profile_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await form_csrf(request, who, svc)
    ctx = own_context(svc, who, person_id)
    facts = {
        k: str(v).strip()
        for k, v in form.items()
        if k != "csrf_token" and isinstance(v, str) and str(v).strip()
    }
    try:
        ops.set_profile(ctx, facts)
    except LifeTwinError as exc:
        return RedirectResponse(
            f"/p/{ctx.person.id}/profile?error={quote(str(exc))}", status_code=303
        )
    svc.changed(ctx.person.id)
    message = "Your profile is saved." if facts else "Nothing was changed."
    return RedirectResponse(f"/p/{ctx.person.id}/profile?flash={quote(message)}", status_code=303)


@router.get("/p/{person_id}/metrics")
def metrics_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    found = ops.held_metrics(ctx)
    from lifetwin.core.display import zone

    return page(
        request,
        "metrics.html",
        title="Metrics",
        section="metrics",
        who=who,
        person=ctx.person,
        found=found,
        zone=zone(found.zone.name),
    )
