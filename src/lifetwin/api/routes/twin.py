"""The twin's outputs: overview, state and baselines, alerts, forecasts, the CGM report,
risk scores and insights."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api import views
from lifetwin.api.deps import Svc, Who, reader, reply, scope, twin_reader
from lifetwin.api.security import ApiError
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["twin"])


@router.get(
    "/persons/{person_id}/overview",
    tags=["twin"],
    summary="Today against baselines, alerts, freshness",
    openapi_extra=scope("twin_core"),
)
async def get_overview(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = await asyncio.to_thread(twin_reader, svc, who, person_id, Purpose.TWIN_CORE)
    person = ctx.person

    # Store work never runs on the event loop (another writer may hold the store).
    data = await asyncio.to_thread(svc.overview, who, person)
    return reply(request, data)


@router.get(
    "/persons/{person_id}/twin",
    tags=["twin"],
    summary="Twin state and baselines",
    openapi_extra=scope("twin_core"),
)
def get_twin(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    person = twin_reader(svc, who, person_id, Purpose.TWIN_CORE).person
    from lifetwin.capabilities.measures import derived_measures

    vault = svc.gate.vault(who, person)
    data = views.baselines(vault)
    data["measures"] = derived_measures(vault)
    return reply(request, data)


@router.get(
    "/persons/{person_id}/alerts",
    tags=["twin"],
    summary="Early warnings",
    openapi_extra=scope("forecasting"),
)
def get_alerts(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from lifetwin.capabilities.early_warning import deviation_alerts, illness_alerts
    from lifetwin.services.live import BrokerNotifier

    person = twin_reader(svc, who, person_id, Purpose.FORECASTING).person
    notifier = BrokerNotifier(svc.broker, person.id)
    vault = svc.gate.vault(who, person)
    found = illness_alerts(vault, notifiers=[notifier]) + deviation_alerts(
        vault, notifiers=[notifier]
    )
    return reply(
        request,
        {"items": [a.model_dump(mode="json", exclude={"lineage"}) for a in found], "next": None},
    )


@router.get(
    "/persons/{person_id}/forecast",
    tags=["twin"],
    summary="Forecast with intervals: glucose (minutes ahead) or a daily metric (days ahead)",
    openapi_extra=scope("forecasting"),
)
def get_forecast(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    metric: str = Query(
        default="glucose",
        max_length=80,
        description="glucose, a numeric metric code, sleep or spending.",
    ),
    days: int = Query(default=7, ge=1, le=60, description="Days ahead, for daily metrics."),
) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.daily_forecast import MIN_DAYS, forecast_daily
    from lifetwin.capabilities.glucose_forecast import forecast_for_person

    person = twin_reader(svc, who, person_id, Purpose.FORECASTING).person
    if metric != "glucose":
        daily = forecast_daily(svc.gate.vault(who, person), metric, days)
        if daily is None:
            raise ApiError(
                404,
                f"There are fewer than {MIN_DAYS} days of {metric} you allow forecasting on.",
            )
        return reply(request, asdict(daily))
    result = forecast_for_person(svc.gate.vault(who, person))
    if result is None:
        raise ApiError(
            404, "There is not enough CGM data (two days) or no forecasting grant to forecast."
        )
    return reply(
        request,
        {
            "from": views.iso(result.last_reading_ms),
            "last_mg_dl": result.last_mg_dl,
            "forecasts": [f.__dict__ for f in result.forecasts],
            "hypo_warning": result.hypo_warning,
            "trained_steps": result.trained_steps,
        },
    )


@router.get(
    "/persons/{person_id}/cgm",
    tags=["twin"],
    summary="CGM report (time in ranges, AGP)",
    openapi_extra=scope("read"),
)
def get_cgm(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(default=14, ge=0, le=3650),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    data = views.cgm(ctx.vault(), ctx.purpose, ctx.recipient, days)
    if data is None:
        raise ApiError(404, "There are no CGM readings you may see in that range.")
    return reply(request, data)


@router.get(
    "/persons/{person_id}/risk",
    tags=["twin"],
    summary="Validated risk scores with their inputs",
    openapi_extra=scope("twin_core"),
)
def get_risk(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.risk import all_scores, gather_inputs

    person = twin_reader(svc, who, person_id, Purpose.TWIN_CORE).person
    inputs = gather_inputs(svc.gate.vault(who, person))
    return reply(
        request, {"items": [asdict(r) for r in all_scores(inputs)], "inputs": inputs.origin}
    )


@router.get(
    "/persons/{person_id}/insights",
    tags=["twin"],
    summary="Associations between daily metrics",
    openapi_extra=scope("twin_core"),
)
def get_insights(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    fdr: float = Query(default=0.1, gt=0, lt=1),
    min_days: int = Query(default=21, ge=10, le=3650),
) -> Response:
    from dataclasses import asdict

    from lifetwin.capabilities.insights import daily_table, find_insights

    person = twin_reader(svc, who, person_id, Purpose.TWIN_CORE).person
    table, units = daily_table(svc.gate.vault(who, person), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    return reply(request, {"items": [asdict(i) for i in found], "metrics_tested": len(table)})
