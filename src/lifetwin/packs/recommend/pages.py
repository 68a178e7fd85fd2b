"""The "For you" page: the person's recommendations, each with "Why am I seeing this?",
feedback buttons, and the controls (pause, quiet hours, the daily cap, goals, "don't use
my <category>"); what was shown before and why. Forms post with the CSRF token and come
back to the page with what changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lifetwin.api.deps import Svc
from lifetwin.core.errors import LifeTwinError
from lifetwin.packs.recommend import operations as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.web.layout import Viewer, form_csrf, own_context, page, twin_context

router = APIRouter(include_in_schema=False)
LOG_SHOWN = 10


def _back(person_id: str, message: str) -> RedirectResponse:
    query = urlencode({"flash": message})
    return RedirectResponse(f"/p/{person_id}/recommendations?{query}", status_code=303)


@router.get("/p/{person_id}/recommendations")
def recommendations_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, flash: str | None = None
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.RECOMMENDATIONS)
    view = ops.recommendations(ctx)
    scopes = {g.id: g.scope for g in view.lineage.grants}
    return page(
        request,
        "recommendations.html",
        title="For you",
        section="recommendations",
        who=who,
        person=ctx.person,
        flash=flash,
        view=view,
        scopes=scopes,
        declared=[g.words for g in view.goals if g.declared],
        log=ops.history(ctx, limit=LOG_SHOWN),
    )


def _number(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a number for {what}.") from None


@router.post("/p/{person_id}/recommendations/feedback")
async def feedback_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    from lifetwin.packs.recommend.capability import Correction

    form = await form_csrf(request, who, svc)
    ctx = twin_context(svc, who, person_id, Purpose.RECOMMENDATIONS)
    kind = str(form.get("kind") or "")
    try:
        correction = None
        if kind == "wrong":
            correction = Correction(
                feature=str(form.get("feature") or ""),
                value=_number(str(form.get("value") or ""), "the right value"),
                note=str(form.get("note") or "")[:500],
            )
        if kind not in ("useful", "not_now", "not_interested", "wrong"):
            raise LifeTwinError("Choose useful, not now, not interested or wrong about me.")
        done = ops.feedback(
            ctx,
            str(form.get("recommendation") or ""),
            kind,  # type: ignore[arg-type]  # checked just above
            correction=correction,
        )
    except LifeTwinError as exc:
        return _back(ctx.person.id, str(exc))
    return _back(ctx.person.id, f"{done.title}: {done.effect}")


def _change(form: dict[str, Any]) -> ops.SettingsChange:
    from datetime import time

    action = str(form.get("action") or "")
    if action in ("pause", "resume"):
        return ops.SettingsChange(paused=action == "pause")
    if action == "quiet":
        if form.get("quiet_off"):
            return ops.SettingsChange(quiet_start=time(0), quiet_end=time(0))
        try:
            start = time.fromisoformat(str(form.get("quiet_start") or ""))
            end = time.fromisoformat(str(form.get("quiet_end") or ""))
        except ValueError:
            raise LifeTwinError("Give the quiet hours as two times (HH:MM).") from None
        return ops.SettingsChange(quiet_start=start, quiet_end=end)
    if action == "cap":
        cap = _number(str(form.get("max_per_day") or ""), "the daily limit")
        if cap is None or cap != int(cap) or not 0 <= cap <= 100:
            raise LifeTwinError("The daily limit is a whole number from 0 to 100.")
        return ops.SettingsChange(max_per_day=int(cap))
    if action == "goals":
        return ops.SettingsChange(
            goals=[k.removeprefix("goal_") for k in form if k.startswith("goal_")]
        )
    if action == "exclude":
        return ops.SettingsChange(exclude=[str(form.get("category") or "")])
    if action == "include":
        return ops.SettingsChange(include=[str(form.get("category") or "")])
    if action == "reset":
        return ops.SettingsChange(reset_not_interested=True)
    raise LifeTwinError("That is not a setting this page changes.")


@router.post("/p/{person_id}/recommendations/settings")
async def settings_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    from pydantic import ValidationError

    form = await form_csrf(request, who, svc)
    ctx = own_context(svc, who, person_id)
    try:
        change = _change(form)
        found = ops.change_settings(ctx, change)
    except ValidationError as exc:
        first = exc.errors()[0]
        return _back(ctx.person.id, str(first["msg"]).removeprefix("Value error, ") + ".")
    except LifeTwinError as exc:
        return _back(ctx.person.id, str(exc))
    if change.exclude or change.include:
        svc.changed(ctx.person.id)  # consent changed: every worker recomputes
    return _back(ctx.person.id, " ".join(found.effects) or "Nothing changed.")
