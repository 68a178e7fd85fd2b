"""The dashboard: server-rendered pages on the same data and access rules as the API.

Works offline: the only script besides ours is the plotly.js bundled in the plotly
package, served from /static. Forms post with a CSRF token; the session cookie is
httpOnly, Secure and SameSite=Strict. Charts get their data as JSON in the page
(``<script type="application/json">``), so the content security policy can forbid
inline scripts.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import UploadFile

from lifetwin.api import views
from lifetwin.api.deps import context, service
from lifetwin.api.routes.auth import login, set_session_cookie
from lifetwin.api.security import SESSION_COOKIE, ApiError, Principal
from lifetwin.api.service import Service
from lifetwin.capabilities.cgm_report import RANGES
from lifetwin.capabilities.twin_state import TwinState, refresh_twin
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import privacy as ops_privacy
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.store.vault import Person

router = APIRouter(include_in_schema=False)
env = Environment(loader=PackageLoader("lifetwin.api", "templates"), autoescape=select_autoescape())
env.filters["unit"] = lambda unit: "" if unit in ("dimensionless", "count", "") else unit
LOGIN_CSRF = "lifetwin_login_csrf"
STATIC = {"lifetwin.css": "text/css", "lifetwin.js": "text/javascript"}

Svc = Annotated[Service, Depends(service)]


class SignInError(Exception):
    """Raised on a page that needs a session; answered with a redirect to /login."""


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    who: Principal | None = context.get("who")
    context.setdefault("csrf", who.session.csrf if who and who.session else "")
    context.setdefault("charts", False)
    context.setdefault("person", None)
    context.setdefault("shared_person", None)
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def viewer(request: Request, svc: Svc) -> Principal:
    who = svc.gate.principal(request, required=False)
    if who is None or who.via != "session":
        raise SignInError
    return who


Viewer = Annotated[Principal, Depends(viewer)]


def own(svc: Service, who: Principal, person_id: str) -> Person:
    return svc.gate.owner_access(who, person_id)


async def form_csrf(request: Request, who: Principal, svc: Service) -> dict[str, Any]:
    form = await request.form()
    svc.gate.check_csrf(who, str(form.get("csrf_token") or ""))
    return dict(form)


# -- static and sign-in ------------------------------------------------------------------------
@router.get("/static/{name}")
def static(name: str) -> Response:
    if name == "plotly.min.js":
        import plotly  # type: ignore[import-untyped]

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )
    if name not in STATIC:
        raise ApiError(404, f"There is no file {name}.")
    body = resources.files("lifetwin.api").joinpath("static", name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


@router.get("/login")
def login_page(request: Request, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", title="Sign in", login_csrf=token, error=error)
    response.set_cookie(
        LOGIN_CSRF, token, max_age=3600, httponly=True, secure=True, samesite="strict"
    )
    return response


@router.post("/login")
async def login_submit(request: Request, svc: Svc) -> Response:
    form = await request.form()
    name, password, code = (str(form.get(k) or "") for k in ("name", "password", "code"))
    given, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF, "")
    if not expected or not secrets.compare_digest(given, expected):
        raise ApiError(
            403, "The sign-in form is missing its CSRF token (reload the page and try again)."
        )
    try:
        _account, session = await login(svc, request, name, password, code)
    except ApiError as exc:
        if exc.status == 429:
            raise
        token = secrets.token_urlsafe(24)
        response = page(
            request,
            "login.html",
            status=401,
            title="Sign in",
            login_csrf=token,
            error=exc.detail,
            name=name,
        )
        response.set_cookie(
            LOGIN_CSRF, token, max_age=3600, httponly=True, secure=True, samesite="strict"
        )
        return response
    done = RedirectResponse("/", status_code=303)
    set_session_cookie(done, session.id)
    done.delete_cookie(LOGIN_CSRF)
    return done


@router.post("/logout")
async def logout(request: Request, svc: Svc, who: Viewer) -> Response:
    await form_csrf(request, who, svc)
    if who.session is not None:
        svc.gate.end_session(who.session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, svc: Svc) -> Response:
    who = svc.gate.principal(request, required=False)
    if who is None or who.via != "session":
        return RedirectResponse("/login", status_code=303)
    if who.role is Role.PERSON and who.person_id:
        return RedirectResponse(f"/p/{who.person_id}", status_code=303)
    if who.role is Role.ADMIN:
        accounts = svc.gate.accounts.all()
        facts = {
            "backend": svc.store.backend.describe(),
            "persons": svc.store.backend.person_count(),
            "accounts": {r.value: sum(a.role is r for a in accounts) for r in Role},
        }
        return page(request, "admin.html", title="Service", who=who, facts=facts)
    return page(
        request,
        "persons.html",
        title="Shared with you",
        who=who,
        persons=svc.gate.visible_persons(who),
    )


# -- the twin -----------------------------------------------------------------------------------
@router.get("/p/{person_id}")
def overview(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    person = own(svc, who, person_id)
    data = svc.overview(who, person)
    return page(
        request,
        "overview.html",
        title="Overview",
        section="overview",
        who=who,
        person=person,
        data=data,
    )


@router.get("/p/{person_id}/metric/{code}")
def metric_page(
    person_id: str, code: str, request: Request, svc: Svc, who: Viewer, days: int = 7
) -> HTMLResponse:
    person, purpose, recipient = svc.gate.read_access(who, person_id)
    days = min(max(days, 1), 7300)
    every = max(60, days * 86400 // 2000)
    since = datetime.now(UTC) - timedelta(days=days)
    vault = svc.gate.vault(who, person)
    series = views.series(
        vault, code, purpose, recipient, since, None, every, views.MAX_POINTS, None
    )
    state = TwinState()
    owner = who.role is Role.PERSON  # the baseline band is the person's own twin
    if owner and any(
        s.metric == series["metric"] for s in vault.visible_streams(Purpose.TWIN_CORE)
    ):
        state, _ = refresh_twin(vault)
    hourly = state.hourly.get(series["metric"], {})
    latest = state.latest.get(series["metric"])
    tz_min = latest[2] if latest else 0  # baselines are by local hour of the week
    x: list[str] = []
    y: list[float | None] = []
    upper: list[float | None] = []
    lower: list[float | None] = []
    odd_x: list[str] = []
    odd_y: list[float | None] = []
    for point in series["points"]:
        ms = point["ms"] + every * 500
        x.append(point["t"])
        y.append(point["mean"])
        slot = hourly.get(TwinState.slot(ms, tz_min))
        if slot is not None and slot.n >= views.MIN_SLOT:
            band = 2 * max(slot.spread * 1.4826, abs(slot.centre) * 0.01)
            upper.append(round(slot.centre + band, 3))
            lower.append(round(slot.centre - band, 3))
            z = slot.z(point["mean"]) if point["mean"] is not None else None
            if z is not None and abs(z) >= views.UNUSUAL_Z:
                odd_x.append(point["t"])
                odd_y.append(point["mean"])
        else:
            upper.append(None)
            lower.append(None)
    data: list[dict[str, Any]] = []
    if any(v is not None for v in upper):
        data += [
            {
                "x": x,
                "y": upper,
                "mode": "lines",
                "line": {"width": 0},
                "name": "usual range",
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                "x": x,
                "y": lower,
                "mode": "lines",
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": "rgba(11,92,173,0.15)",
                "name": "usual range",
            },
        ]
    data.append(
        {"x": x, "y": y, "mode": "lines", "name": series["name"], "line": {"color": "#0b5cad"}}
    )
    if odd_x:
        data.append(
            {
                "x": odd_x,
                "y": odd_y,
                "mode": "markers",
                "name": "unusual",
                "marker": {"color": "#c00", "size": 8},
            }
        )
    chart = {
        "data": data,
        "layout": {"yaxis": {"title": {"text": series["unit"]}}, "xaxis": {"type": "date"}},
    }
    return page(
        request,
        "metric.html",
        title=series["name"],
        section="overview",
        who=who,
        person=person if owner else None,
        shared_person=None if owner else person,
        series=series,
        chart=chart,
        days=days,
        anomalies=len(odd_x) if len(data) > 1 else None,
        charts=True,
    )


@router.get("/p/{person_id}/shared")
def shared_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    """What a person shares with this caregiver: the streams, each with its timeline."""
    person, purpose, recipient = svc.gate.read_access(who, person_id)
    vault = svc.gate.vault(who, person)
    streams = [s for s in views.streams(vault, purpose, recipient) if s["numeric"]]
    vault.log_event("view", purpose.value, what="shared streams", recipient=recipient)
    return page(
        request,
        "shared.html",
        title="Shared with you",
        who=who,
        shared_person=person,
        streams=streams,
    )


@router.get("/p/{person_id}/cgm")
def cgm_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, days: int = 14
) -> HTMLResponse:
    from lifetwin.capabilities.glucose_forecast import forecast_for_person

    person = own(svc, who, person_id)
    vault = svc.gate.vault(who, person)
    report = views.cgm(vault, Purpose.SELF_ACCESS, None, days)
    result = forecast_for_person(vault)
    recent = None
    if result is not None:
        start = datetime.fromtimestamp(result.last_reading_ms / 1000 - 3 * 3600, UTC)
        recent = vault.read_series("glucose", purpose=Purpose.FORECASTING, since=start)
    context: dict[str, Any] = {"report": report, "days": days, "forecast": None}
    if report:
        names = [label for _, label in RANGES]
        colors = ["#8b0000", "#e03c31", "#2e8b57", "#f0a500", "#d2691e"]
        context["ranges"] = [(label, report["ranges_pct"][key]) for key, label in RANGES]
        context["tir"] = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "x": [report["ranges_pct"][key]],
                    "y": ["time"],
                    "name": label,
                    "marker": {"color": color},
                }
                for (key, label), color in zip(RANGES, colors, strict=True)
            ],
            "layout": {
                "barmode": "stack",
                "xaxis": {"range": [0, 100], "title": {"text": "% of time"}},
                "yaxis": {"visible": False},
            },
        }
        del names
        hours = sorted(report["agp"], key=int)
        cut = {k: [report["agp"][h][k] for h in hours] for k in ("p5", "p25", "p50", "p75", "p95")}
        hx = [int(h) for h in hours]
        context["agp"] = {
            "data": [
                {
                    "x": hx,
                    "y": cut["p5"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "showlegend": False,
                    "hoverinfo": "skip",
                },
                {
                    "x": hx,
                    "y": cut["p95"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": "rgba(11,92,173,0.12)",
                    "name": "5–95 %",
                },
                {
                    "x": hx,
                    "y": cut["p25"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "showlegend": False,
                    "hoverinfo": "skip",
                },
                {
                    "x": hx,
                    "y": cut["p75"],
                    "mode": "lines",
                    "line": {"width": 0},
                    "fill": "tonexty",
                    "fillcolor": "rgba(11,92,173,0.3)",
                    "name": "25–75 %",
                },
                {
                    "x": hx,
                    "y": cut["p50"],
                    "mode": "lines",
                    "line": {"color": "#0b5cad", "width": 2},
                    "name": "median",
                },
            ],
            "layout": {
                "xaxis": {"title": {"text": "hour of day"}, "range": [0, 23]},
                "yaxis": {"title": {"text": "mg/dL"}},
                "shapes": [
                    {
                        "type": "rect",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": 70,
                        "y1": 180,
                        "fillcolor": "rgba(46,139,87,0.08)",
                        "line": {"width": 0},
                    }
                ],
            },
        }
    if result is not None and recent is not None:
        last = result.last_reading_ms
        context["forecast"] = {
            "forecasts": [f.__dict__ for f in result.forecasts],
            "hypo_warning": result.hypo_warning,
        }
        fx = [views.iso(last + f.horizon_min * 60_000) for f in result.forecasts]
        context["forecast_chart"] = {
            "data": [
                {
                    "x": [views.iso(t) for t in recent.ts_ms.tolist()],
                    "y": recent.values.tolist(),
                    "mode": "lines",
                    "name": "CGM",
                },
                {
                    "x": fx,
                    "y": [f.value_mg_dl for f in result.forecasts],
                    "mode": "markers+lines",
                    "name": "forecast",
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": [f.high_mg_dl - f.value_mg_dl for f in result.forecasts],
                        "arrayminus": [f.value_mg_dl - f.low_mg_dl for f in result.forecasts],
                    },
                },
            ],
            "layout": {
                "yaxis": {"title": {"text": "mg/dL"}},
                "xaxis": {"type": "date"},
                "shapes": [
                    {
                        "type": "line",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": 70,
                        "y1": 70,
                        "line": {"color": "#c00", "dash": "dot"},
                    }
                ],
            },
        }
    return page(
        request,
        "cgm.html",
        title="Glucose",
        section="cgm",
        who=who,
        person=person,
        charts=True,
        **context,
    )


@router.get("/p/{person_id}/risk")
def risk_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    from lifetwin.capabilities.risk import all_scores, gather_inputs

    person = own(svc, who, person_id)
    inputs = gather_inputs(svc.gate.vault(who, person))
    return page(
        request,
        "risk.html",
        title="Risk",
        section="risk",
        who=who,
        person=person,
        results=all_scores(inputs),
    )


@router.get("/p/{person_id}/insights")
def insights_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    from lifetwin.capabilities.insights import daily_table, find_insights

    person = own(svc, who, person_id)
    table, units = daily_table(svc.gate.vault(who, person), min_days=21)
    items = find_insights(table, units, min_days=21, fdr=0.1)
    return page(
        request,
        "insights.html",
        title="Insights",
        section="insights",
        who=who,
        person=person,
        items=items,
        tested=len(table),
    )


# -- import -----------------------------------------------------------------------------------
@router.get("/p/{person_id}/import")
def import_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, job: str | None = None
) -> HTMLResponse:
    person = own(svc, who, person_id)
    records = svc.gate.vault(who, person).imports()
    found = svc.import_status(person, job) if job else None
    return page(
        request,
        "import.html",
        title="Import",
        section="import",
        who=who,
        person=person,
        job=found,
        imports=list(reversed(records))[:20],
    )


@router.post("/p/{person_id}/import")
async def import_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    form = await request.form()
    svc.gate.check_csrf(who, str(form.get("csrf_token") or ""))
    person = own(svc, who, person_id)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ApiError(422, "Choose a file to import.")
    job = await svc.receive_upload(person, upload, None)
    return RedirectResponse(f"/p/{person.id}/import?job={job.id}", status_code=303)


# -- privacy center ---------------------------------------------------------------------------
def _plain(entry: Any, labels: dict[str, str]) -> str:
    when = views.iso(entry.ts_ms)[:16].replace("T", " ")
    actor = labels.get(entry.actor, entry.actor).split(" ")[0]
    who = (
        "You"
        if actor.startswith(("person:", "self"))
        else f"The service ({actor})"
        if actor == "service"
        else actor
    )
    details = entry.details or {}
    purpose = (entry.purpose or "").replace("_", " ")
    what = details.get("metric") or details.get("what") or details.get("format") or ""
    verbs = {
        "read": f"read {what} for {purpose}"
        + (f" (for {details['recipient']})" if details.get("recipient") else ""),
        "view": f"viewed the {what} for {purpose}",
        "grant": f"allowed {details.get('scope')} for {purpose}",
        "revoke": f"withdrew {details.get('scope')} for {purpose}",
        "invalidate": "deleted results computed from withdrawn data ("
        + ", ".join(details.get("derived", []))
        + ")",
        "import": f"imported {details.get('file', 'a file')}",
        "write": f"stored new {what} data",
        "export": f"exported everything as {what}",
        "login": "signed in",
        "derive": f"computed {details.get('name', 'a result')} for {purpose}",
        "token": f"made an API token for {', '.join(details.get('purposes', []))}",
    }
    fallback = entry.action + (" " + what if what else "")
    return f"{when} UTC — {who} {verbs.get(entry.action, fallback)}."


@router.get("/p/{person_id}/privacy")
def privacy_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, flash: str | None = None
) -> HTMLResponse:
    person = own(svc, who, person_id)
    from lifetwin.services.audit_view import actor_labels

    ctx = context(svc, who, person, Purpose.SELF_ACCESS)
    matrix = ops_privacy.category_matrix(ctx)
    entries = ctx.vault().audit_entries()[-60:]
    labels = actor_labels(svc.store, svc.gate.accounts)
    return page(
        request,
        "privacy.html",
        title="Privacy",
        section="privacy",
        who=who,
        person=person,
        flash=flash,
        categories=matrix.categories,
        purposes=matrix.purposes,
        active=set(matrix.allowed),
        other_grants=matrix.other_grants,
        log=[_plain(e, labels) for e in reversed(entries)],
    )


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
    from lifetwin.services.report import access_report, to_html

    person = own(svc, who, person_id)
    report = access_report(svc.store, person)
    return HTMLResponse(to_html(report))


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


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    del request, exc
    return RedirectResponse("/login", status_code=303)


def is_page(path: str) -> bool:
    return path == "/" or path.startswith(("/p/", "/login", "/logout"))


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None
) -> Response:
    response = page(
        request,
        "message.html",
        status=status,
        title="Sorry",
        heading="That did not work",
        message=message,
        link="/",
        link_text="Back to your overview",
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
