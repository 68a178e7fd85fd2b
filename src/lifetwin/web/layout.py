"""What every dashboard page shares: the templates (LifeTwin's and the packs'), the page
renderer with its navigation, the signed-in viewer, and CSRF-checked forms.

A pack's page renders with :func:`page` (its template may extend ``base.html``) and gets
its navigation entry from the pack's ``lifetwin_pages`` hook; the entry shows when the
person holds data for it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from lifetwin.api.deps import Svc, context
from lifetwin.api.security import Principal
from lifetwin.core.errors import LifeTwinError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role

if TYPE_CHECKING:
    from lifetwin.api.service import Service
    from lifetwin.operations.context import Context
    from lifetwin.store.vault import Person


class SignInError(Exception):
    """Raised on a page that needs a session; answered with a redirect to /login."""


@cache
def environment() -> Environment:
    """The templates: LifeTwin's own, then each pack's (``Page.templates``)."""
    from lifetwin.packs.registry import registry

    loaders = [PackageLoader("lifetwin.web", "templates")]
    loaders += [PackageLoader(p.templates) for p in registry().pages if p.templates]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape())
    env.filters["unit"] = lambda unit: "" if unit in ("dimensionless", "count", "") else unit
    _display_filters(env)
    return env


def _display_filters(env: Environment) -> None:
    """Values and times as :mod:`lifetwin.core.display` shows them on the command line:
    ``{{ v | amount(unit, code) }}``, ``{{ low | span(high, unit, code) }}``,
    ``{{ moment | local(zone) }}`` (``zone``: the page's, see :func:`page`)."""
    from lifetwin.core import display

    env.filters["amount"] = display.amount
    env.filters["span"] = display.span
    env.filters["unit_label"] = display.unit_label
    env.filters["local"] = display.local
    env.filters["number"] = display.number
    env.filters["zone_name"] = display.zone_name


def navigation(request: Request, who: Principal | None, person: Person | None) -> list[Any]:
    """The sections of a person's own pages, in order: every pack's navigation entry
    whose condition the person's data meets."""
    from lifetwin.packs.registry import registry

    if person is None or who is None or who.role is not Role.PERSON:
        return []
    svc: Service = request.app.state.service
    held = {s.metric for s in svc.gate.vault(who, person).streams()}
    entries = [n for p in registry().pages for n in p.nav if n.when(held)]
    return sorted(entries, key=lambda n: (n.order, n.label))


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template inside the dashboard's layout (``title``, ``who``, ``person``,
    ``section`` — the current navigation path — and the template's own values)."""
    who: Principal | None = values.get("who")
    values.setdefault("csrf", who.session.csrf if who and who.session else "")
    values.setdefault("charts", False)
    values.setdefault("person", None)
    values.setdefault("shared_person", None)
    values.setdefault("nav", navigation(request, who, values["person"]))
    if "zone" not in values:
        values["zone"] = _zone(request, who, values["person"] or values["shared_person"])
    html = environment().get_template(template).render(request=request, **values)
    return HTMLResponse(html, status_code=status)


def _zone(request: Request, who: Principal | None, person: Person | None) -> Any:
    """The zone a page shows times in: the person's profile zone, else UTC (pages that
    read data pass their own, see ``lifetwin.operations.person.zone_of``)."""
    from lifetwin.core.display import zone

    if person is None or who is None:
        return zone()
    svc: Service = request.app.state.service
    try:
        named = svc.gate.vault(who, person).profile().get("time_zone")
    except LifeTwinError:
        return zone()
    return zone(str(named) if named else None)


def viewer(request: Request, svc: Svc) -> Principal:
    who = svc.gate.principal(request, required=False)
    if who is None or who.via != "session":
        raise SignInError
    return who


Viewer = Annotated[Principal, Depends(viewer)]


def own(svc: Service, who: Principal, person_id: str) -> Person:
    """The person, when the viewer is that person (else 403/404)."""
    return svc.gate.owner_access(who, person_id)


def own_context(svc: Service, who: Principal, person_id: str) -> Context:
    """The person's own access, as an operation context."""
    return context(svc, who, own(svc, who, person_id), Purpose.SELF_ACCESS)


def twin_context(svc: Service, who: Principal, person_id: str, purpose: Purpose) -> Context:
    """The person's own access to a twin output, reading for that output's purpose."""
    return context(svc, who, own(svc, who, person_id), purpose)


async def form_csrf(request: Request, who: Principal, svc: Service) -> dict[str, Any]:
    form = await request.form()
    svc.gate.check_csrf(who, str(form.get("csrf_token") or ""))
    return dict(form)
