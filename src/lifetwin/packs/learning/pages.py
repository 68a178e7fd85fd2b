"""The Learning page: mastery per skill, forecast recall per deck and card, and what to
study next, from :func:`lifetwin.packs.learning.operations.learning`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.packs.learning import charts
from lifetwin.packs.learning import operations as ops
from lifetwin.privacy.consent import Purpose
from lifetwin.web.layout import Viewer, page, twin_context

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/learning")
def learning_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    values: dict[str, Any] = {"view": None, "missing": None}
    try:
        view = ops.learning(ctx)
    except NotEnoughDataError as exc:
        values["missing"] = str(exc)
    else:
        values["view"] = view
        values["mastery_chart"] = charts.mastery(view)
        values["recall_chart"] = charts.recall(view)
        days = view.recall_forecast[0].days if view.recall_forecast else []
        values["columns"] = [i for i, d in enumerate(days) if d in (0, 7, 30)]
        values["days"] = days
    return page(
        request,
        "learning.html",
        title="Learning",
        section="learning",
        who=who,
        person=ctx.person,
        charts=values["view"] is not None,
        **values,
    )
