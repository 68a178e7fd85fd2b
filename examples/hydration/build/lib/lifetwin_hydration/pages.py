"""The dashboard page ``/p/{id}/hydration``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.privacy.consent import Purpose
from lifetwin.web.layout import Viewer, page, twin_context
from lifetwin_hydration.operations import hydration

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/hydration")
def hydration_page(person_id: str, request: Request, svc: Svc, who: Viewer) -> HTMLResponse:
    ctx = twin_context(svc, who, person_id, Purpose.TWIN_CORE)
    try:
        found = hydration(ctx)
    except NotEnoughDataError as exc:
        found, empty = None, str(exc)
    else:
        empty = ""
    chart = None
    if found is not None:
        chart = {
            "data": [
                {
                    "type": "bar",
                    "x": [d.day.isoformat() for d in found.days],
                    "y": [d.total_ml for d in found.days],
                    "name": "water",
                    "marker": {"color": "#0b5cad"},
                }
            ],
            "layout": {
                "yaxis": {"title": {"text": "mL"}},
                "shapes": [
                    {
                        "type": "line",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": found.goal_ml,
                        "y1": found.goal_ml,
                        "line": {"color": "#2e8b57", "dash": "dot"},
                    }
                ],
            },
        }
    return page(
        request,
        "hydration.html",
        title="Hydration",
        section="hydration",
        who=who,
        person=ctx.person,
        found=found,
        empty=empty,
        chart=chart,
        charts=chart is not None,
    )
