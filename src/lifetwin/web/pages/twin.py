"""The twin's pages: the overview, a metric's history, what a person shares with a
caregiver, and insights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lifetwin.api.deps import Svc, reader
from lifetwin.operations import data as ops_data
from lifetwin.operations import twin as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.web import charts, sparkline
from lifetwin.web.layout import Viewer, own_context, page, twin_context

if TYPE_CHECKING:
    from lifetwin.api.security import Principal
    from lifetwin.api.service import Service
    from lifetwin.operations.trends import TrendList

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}")
def overview(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    return page(
        request,
        "overview.html",
        title="Overview",
        section="",
        who=who,
        person=ctx.person,
        data=svc.overview(ctx),
        trends=_trends(svc, who, person_id),
        spark=sparkline,
    )


def _trends(svc: Service, who: Principal, person_id: str) -> TrendList | None:
    """Each metric's last month, for the overview's sparklines (the person's own view)."""
    from lifetwin.core.errors import LifeTwinError
    from lifetwin.operations.trends import trends

    try:
        return trends(own_context(svc, who, person_id))
    except LifeTwinError:
        return None


def page_of(code: str) -> str | None:
    """The pack page of a metric that is not a number (sleep stages, workouts): the
    navigation entry that says it ``shows`` it, else the most specific entry that this
    metric alone makes appear."""
    from lifetwin.core.errors import UnknownMetricError
    from lifetwin.core.vocabulary import metric
    from lifetwin.packs.registry import registry

    if not code.startswith("event:"):
        try:
            if metric(code).is_numeric:
                return None
        except UnknownMetricError:
            return None
    reg = registry()
    named = [n for p in reg.pages for n in p.nav if code in n.shows]
    if named:
        return min(named, key=lambda n: n.order).path
    found = [n for p in reg.pages for n in p.nav if n.when({code}) and not n.when(set())]
    if not found:
        return None
    # the most specific entry: the one the fewest other codes make appear
    codes = [*reg.metrics, *(f"event:{kind}" for kind in reg.event_domains)]
    return min(found, key=lambda n: sum(n.when({c}) for c in codes)).path


@router.get("/p/{person_id}/metric/{code}", response_model=None)
def metric_page(
    person_id: str, code: str, request: Request, svc: Svc, who: Viewer, days: int = 7
) -> HTMLResponse | RedirectResponse:
    ctx = reader(svc, who, person_id, None)
    target = page_of(code) if who.role is Role.PERSON else None
    if target is not None:  # sleep stages and events have a page of their own
        return RedirectResponse(f"/p/{ctx.person.id}/{target}", status_code=303)
    owner = who.role is Role.PERSON  # the usual range is the person's own twin
    found = ops.metric_history(ctx, code, days=days, baseline=owner)
    return page(
        request,
        "metric.html",
        title=found.name,
        section="",
        who=who,
        person=ctx.person if owner else None,
        shared_person=None if owner else ctx.person,
        series=found,
        chart=charts.metric_history(found),
        days=found.days,
        charts=True,
    )


@router.get("/p/{person_id}/shared")
def shared_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    """What a person shares with this caregiver: the streams, each with its timeline."""
    ctx = reader(svc, who, person_id, None)
    streams = [s for s in ops_data.streams(ctx).items if s.numeric]
    return page(
        request,
        "shared.html",
        title="Shared with you",
        who=who,
        shared_person=ctx.person,
        streams=streams,
    )


@router.get("/p/{person_id}/insights")
def insights_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    found = ops.insights(ctx)
    return page(
        request,
        "insights.html",
        title="Insights",
        section="insights",
        who=who,
        person=ctx.person,
        found=found,
        figures=[charts.insight(i) for i in found.items],
        charts=bool(found.items),
    )
