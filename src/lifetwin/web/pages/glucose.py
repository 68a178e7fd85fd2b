"""The glucose page: the CGM report (time in ranges, AGP) and the forecast."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.capabilities.cgm_report import RANGES
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations import data as ops_data
from lifetwin.operations import twin as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.web import charts
from lifetwin.web.layout import Viewer, page, twin_context

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/cgm")
def cgm_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, days: int = ops.CGM_DAYS
) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.SELF_ACCESS)
    values: dict[str, Any] = {"report": None, "days": days, "forecast": None}
    try:
        report = ops.cgm(ctx, days=days)
    except NotEnoughDataError:
        report = None
    if report is not None:
        values["report"] = report
        values["ranges"] = [(label, report.ranges_pct[key]) for key, label in RANGES]
        values["tir"] = charts.time_in_ranges(report)
        values["agp"] = charts.agp(report)
    forecasting = ctx.for_purpose(Purpose.FORECASTING)
    try:
        forecast = ops.glucose_forecast(forecasting)
    except NotEnoughDataError:
        forecast = None
    if forecast is not None:
        recent = ops_data.series(
            forecasting, "glucose", since=charts.since_hours(forecast.start, 3)
        )
        values["forecast"] = forecast
        values["forecast_chart"] = charts.glucose_forecast(forecast, recent)
    return page(
        request,
        "cgm.html",
        title="Glucose",
        section="cgm",
        who=who,
        person=ctx.person,
        charts=True,
        **values,
    )
