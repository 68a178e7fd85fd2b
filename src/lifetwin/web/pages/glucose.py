"""The glucose pages: the newest reading with its trend and a stale-data banner, today's
trace with insulin and carbohydrates, the forecast, the CGM report of any period against
the consensus targets, a day view, a week overlay, the printable AGP report, and the
form that sets the person's unit and targets. Every number comes from one operation of
:mod:`lifetwin.operations.glucose`, in the person's unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lifetwin.api.deps import Svc
from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.operations import data as ops_data
from lifetwin.operations import glucose as ops
from lifetwin.operations.context import Context
from lifetwin.privacy.consent import Purpose
from lifetwin.web import glucose_charts as charts
from lifetwin.web.layout import Viewer, form_csrf, own_context, page, twin_context

router = APIRouter(include_in_schema=False)


def _date(text: str | None) -> date | None:
    """A date from a date picker; what is not one is ignored (the page shows the default)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _moment(text: str | None, end_of_day: bool = False) -> datetime | None:
    day = _date(text)
    return None if day is None else datetime.combine(day, time.max if end_of_day else time.min, UTC)


def _common(ctx: Context) -> dict[str, Any]:
    return {"fmt": ops.shown, "fmt_change": ops.shown_change, "pid": ctx.person.id}


def _render(
    request: Request, who: Any, ctx: Context, template: str, title: str, **values: Any
) -> HTMLResponse:
    return page(
        request,
        template,
        title=title,
        section="cgm",
        who=who,
        person=ctx.person,
        **_common(ctx),
        **values,
    )


@router.get("/p/{person_id}/cgm")
def cgm_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    days: int = ops.CGM_DAYS,
    since: str | None = None,
    until: str | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.SELF_ACCESS)
    settings = ops.glucose_settings(ctx)
    values: dict[str, Any] = {
        "settings": settings,
        "flash": flash,
        "report": None,
        "now": None,
        "today": None,
        "forecast": None,
        "days": days,
        "since": _date(since),
        "until": _date(until),
    }
    try:
        now = ops.glucose_now(ctx)
        today = ops.glucose_day(ctx)
    except NotEnoughDataError:
        return _render(request, who, ctx, "cgm.html", "Glucose", charts=False, **values)
    values |= {"now": now, "today": today, "day_chart": charts.glucose_day(today)}
    try:
        report = ops.cgm(
            ctx,
            since=_moment(since),
            until=_moment(until, end_of_day=True),
            days=max(days, 0),
        )
    except (NotEnoughDataError, LifeTwinError) as exc:
        values["report_problem"] = str(exc)
    else:
        values |= {
            "report": report,
            "tir": charts.time_in_ranges(report),
            "agp": charts.agp(report),
        }
    forecasting = ctx.for_purpose(Purpose.FORECASTING)
    try:
        forecast = ops.glucose_forecast(forecasting)
    except NotEnoughDataError:
        forecast = None
    if forecast is not None:
        recent = ops_data.series(forecasting, "glucose", since=forecast.start - timedelta(hours=3))
        offset = now.at.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        values["forecast"] = forecast
        values["forecast_chart"] = charts.glucose_forecast(forecast, recent, minutes)
    return _render(request, who, ctx, "cgm.html", "Glucose", charts=True, **values)


@router.post("/p/{person_id}/cgm/settings")
async def settings_submit(person_id: str, request: Request, svc: Svc, who: Viewer) -> Response:
    """The unit and target form: one operation sets the profile facts."""
    form = await form_csrf(request, who, svc)
    ctx = own_context(svc, who, person_id)

    def number(name: str) -> float | None:
        text = str(form.get(name) or "").strip().replace(",", ".")
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise LifeTwinError(f"'{text[:20]}' is not a number for the {name} target.") from None

    unit = str(form.get("unit") or "") or None
    try:  # the unit form sends the unit; the target form the targets, in the unit shown
        found = ops.set_glucose_settings(ctx, unit=unit, low=number("low"), high=number("high"))
    except LifeTwinError as exc:
        message = str(exc)
    else:
        svc.changed(ctx.person.id)  # the overview shows glucose in the unit too
        message = (
            f"Glucose is shown in {found.unit}, with your targets "
            f"{ops.shown(found.targets.low, found.unit)}–"
            f"{ops.shown(found.targets.high, found.unit)} {found.unit}."
        )
    return RedirectResponse(f"/p/{ctx.person.id}/cgm?flash={quote(message)}", status_code=303)


@router.get("/p/{person_id}/cgm/day")
def day_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, day: str | None = None
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.SELF_ACCESS)
    try:
        found = ops.glucose_day(ctx, _date(day))
    except NotEnoughDataError:
        return _render(request, who, ctx, "glucose_day.html", "Glucose: a day", found=None)
    return _render(
        request,
        who,
        ctx,
        "glucose_day.html",
        f"Glucose on {found.day.isoformat()}",
        found=found,
        chart=charts.glucose_day(found),
        charts=True,
    )


@router.get("/p/{person_id}/cgm/week")
def week_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, start: str | None = None
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.SELF_ACCESS)
    try:
        found = ops.glucose_week(ctx, _date(start))
    except NotEnoughDataError:
        return _render(request, who, ctx, "glucose_week.html", "Glucose: a week", found=None)
    return _render(
        request,
        who,
        ctx,
        "glucose_week.html",
        f"Glucose, week of {found.start.isoformat()}",
        found=found,
        chart=charts.glucose_week(found),
        charts=True,
    )


@router.get("/p/{person_id}/cgm/agp")
def agp_page(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Viewer,
    days: int = ops.CGM_DAYS,
    since: str | None = None,
    until: str | None = None,
) -> HTMLResponse:
    from lifetwin.web.glucose_report import report_values

    ctx = twin_context(svc, who, person_id, Purpose.SELF_ACCESS)
    try:
        found = ops.agp_report(
            ctx, since=_moment(since), until=_moment(until, end_of_day=True), days=max(days, 0)
        )
    except LifeTwinError as exc:
        return _render(
            request, who, ctx, "glucose_agp.html", "AGP report", agp_report=None, problem=str(exc)
        )
    return _render(request, who, ctx, "glucose_agp.html", "AGP report", **report_values(found))
