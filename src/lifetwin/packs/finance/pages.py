"""The money page: ``/p/{id}/money`` — a month's spending by category in the person's
currency, and the months before (the operation
:func:`lifetwin.packs.finance.operations.money`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lifetwin.api.deps import Svc
from lifetwin.core.errors import NotEnoughDataError
from lifetwin.packs.finance import charts
from lifetwin.packs.finance import operations as ops
from lifetwin.web.layout import Viewer, own_context, page

router = APIRouter(include_in_schema=False)


@router.get("/p/{person_id}/money")
def money_page(
    person_id: str, request: Request, svc: Svc, who: Viewer, month: str | None = None
) -> HTMLResponse:
    ctx = own_context(svc, who, person_id)
    try:
        found = ops.money(ctx, month=month or None)
    except NotEnoughDataError as exc:
        return page(
            request,
            "money.html",
            title="Money",
            section="money",
            who=who,
            person=ctx.person,
            found=None,
            message=str(exc),
            month=month,
        )
    return page(
        request,
        "money.html",
        title="Money",
        section="money",
        who=who,
        person=ctx.person,
        found=found,
        month=found.month,
        month_name=datetime.strptime(found.month, "%Y-%m").strftime("%B %Y"),
        money=ops.money_text,
        by_category=charts.categories(found),
        by_month=charts.months(found),
        charts=True,
    )
