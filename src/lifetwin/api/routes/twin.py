"""The twin's outputs: overview, state and baselines, alerts, forecasts, the CGM report,
risk scores and insights. Each route parses, calls one operation of
:mod:`lifetwin.operations.twin` and returns its model."""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Query, Request, Response

from lifetwin.api.deps import Svc, Who, reader, reply, scope, service_of, twin_reader
from lifetwin.api.security import NotCachedError, cache_only
from lifetwin.capabilities.risk import RiskReport
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import twin as ops
from lifetwin.operations.data import parse_time
from lifetwin.privacy.consent import Purpose

router = APIRouter(prefix="/api/v1", tags=["twin"])


@router.get(
    "/persons/{person_id}/overview",
    summary="Today against baselines, alerts, freshness",
    response_model=ops.Overview,
    openapi_extra=scope("twin_core"),
)
async def get_overview(person_id: str, request: Request) -> Response:
    # The most frequent request: answered from this worker's caches by the app's edge
    # before routing when it can (cached_overview, SHORTCUTS); what reaches this route
    # needs the store, so all of it runs in one trip to a worker thread (store work never
    # runs on the event loop).
    svc = service_of(request)

    def run() -> ops.Overview:
        who = svc.gate.principal(request)
        assert who is not None
        return svc.overview(twin_reader(svc, who, person_id, Purpose.TWIN_CORE))

    return reply(request, await asyncio.to_thread(run))


async def cached_overview(request: Request, person_id: str) -> Response | None:
    """The overview when the caller, the person and the overview are all in this worker's
    caches, answered once its audit entry is committed (by group commit, in the audit
    thread); ``None`` when any of it needs the store or the caller is refused (the route
    then decides, with the store, and answers as for any request). The app's edge calls
    this before routing (see :data:`SHORTCUTS`): FastAPI's routing and dependency
    machinery was half of this request's cost (benchmarks/request_cost.py)."""
    svc = service_of(request)
    await svc.gate.generations.fresh()
    try:
        with cache_only():
            who = svc.gate.principal(request)
            assert who is not None
            ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
            found = svc.cached_overview_reply(ctx)
    except (NotCachedError, LifeTwinError):
        return None
    if found is None:
        return None
    await asyncio.wrap_future(svc.viewed(ctx))
    return reply(request, found)


#: Routes the app's edge may answer before routing: (method, path pattern, handler). A
#: handler answers from caches or returns ``None`` and the request goes its usual way.
SHORTCUTS = [("GET", re.compile(r"/api/v1/persons/([^/]+)/overview"), cached_overview)]


@router.get(
    "/persons/{person_id}/twin",
    summary="Twin state and baselines",
    response_model=ops.TwinView,
    openapi_extra=scope("twin_core"),
)
def get_twin(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    as_of: str | None = Query(
        default=None, max_length=40, description="The twin as it was before this date."
    ),
) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, ops.twin(ctx, as_of=parse_time(as_of, "as_of")))


@router.get(
    "/persons/{person_id}/alerts",
    summary="Early warnings",
    response_model=ops.AlertList,
    openapi_extra=scope("forecasting"),
)
def get_alerts(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    budget: float = Query(default=ops.ILLNESS_BUDGET, ge=0.01, le=10),
    deviation_budget: float = Query(default=ops.DEVIATION_BUDGET, ge=0.01, le=30),
) -> Response:
    from lifetwin.services.live import BrokerNotifier

    ctx = twin_reader(svc, who, person_id, Purpose.FORECASTING)
    notifier = BrokerNotifier(svc.broker, ctx.person.id)
    found = ops.alerts(ctx, budget=budget, deviation_budget=deviation_budget, notifiers=[notifier])
    return reply(request, found)


@router.get(
    "/persons/{person_id}/forecast",
    summary="Forecast with intervals: glucose (minutes ahead) or a daily metric (days ahead)",
    response_model=ops.GlucoseForecast | ops.DailyForecast,
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
    days: int = Query(
        default=ops.DAILY_HORIZON, ge=1, le=60, description="Days ahead, for daily metrics."
    ),
    unit: str | None = Query(
        default=None,
        max_length=10,
        description="Glucose in mg/dL or mmol/L (default: the person's preference).",
    ),
) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.FORECASTING)
    return reply(request, ops.forecast(ctx, metric, days=days, unit=unit))


@router.get(
    "/persons/{person_id}/cgm",
    summary="CGM report (time in ranges against the consensus targets, AGP)",
    response_model=ops.CgmView,
    openapi_extra=scope("read"),
)
def get_cgm(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    days: int = Query(
        default=ops.CGM_DAYS, ge=0, le=36500, description="The latest days (0: all)."
    ),
    since: str | None = Query(default=None, max_length=40),
    until: str | None = Query(default=None, max_length=40),
    source: str | None = Query(default=None, max_length=200),
    unit: str | None = Query(
        default=None,
        max_length=10,
        description="Glucose in mg/dL or mmol/L (default: the person's preference).",
    ),
    purpose: Purpose | None = None,
) -> Response:
    ctx = reader(svc, who, person_id, purpose)
    found = ops.cgm(
        ctx,
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        days=days,
        source=source,
        unit=unit,
    )
    return reply(request, found)


@router.get(
    "/persons/{person_id}/risk",
    summary="Validated risk scores with their inputs",
    response_model=RiskReport,
    openapi_extra=scope("twin_core"),
)
def get_risk(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, ops.risk(ctx))


@router.get(
    "/persons/{person_id}/insights",
    summary="Associations between daily metrics",
    response_model=ops.InsightList,
    openapi_extra=scope("twin_core"),
)
def get_insights(
    person_id: str,
    request: Request,
    svc: Svc,
    who: Who,
    fdr: float = Query(default=ops.INSIGHT_FDR, gt=0, lt=1),
    min_days: int = Query(default=ops.INSIGHT_MIN_DAYS, ge=10, le=3650),
) -> Response:
    ctx = twin_reader(svc, who, person_id, Purpose.TWIN_CORE)
    return reply(request, ops.insights(ctx, fdr=fdr, min_days=min_days))
