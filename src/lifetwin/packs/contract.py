"""The pack contract: how a domain adds itself to LifeTwin.

A **pack** is a Python module (or a package's module) registered under the entry-point
group ``lifetwin``. It implements any of the hooks below with ``@hookimpl``; the core
never names a domain. The built-in packs (``lifetwin.packs.*``) register exactly the
way a third-party pack does — through ``[project.entry-points.lifetwin]`` in their
distribution's metadata — so whatever a built-in can do, a pack installed with ``pip``
can do too (``examples/hydration`` is one, tested end to end).

What a pack may register, each hook returning a list (or nothing):

* ``lifetwin_pack()`` — its name, title and one-line description;
* ``lifetwin_domains()`` — data categories people grant consent by;
* ``lifetwin_purposes()`` — purposes data may be used for;
* ``lifetwin_metrics()`` — vocabulary entries (unit, plausible range, category, and their
  HealthKit / Health Connect / Open mHealth / LOINC names);
* ``lifetwin_event_domains()`` — the category of the event kinds the pack owns;
* ``lifetwin_connectors()`` — export formats (plain generators; the importer writes);
* ``lifetwin_models()`` — per-person model classes (the typed model contract);
* ``lifetwin_capabilities()`` — what the twin computes: inputs, purpose, when it runs
  (on ingest, on schedule, on demand), and a pydantic output;
* ``lifetwin_cli(app)`` — command groups or commands added to ``lifetwin``;
* ``lifetwin_routers()`` — FastAPI routers mounted in the service;
* ``lifetwin_pages()`` — dashboard pages and their navigation entries;
* ``lifetwin_jobs()`` — kinds of background job the service's queue runs (every worker
  registers them, since any worker may take any job).

``lifetwin packs`` lists every pack found and what each registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from lifetwin.core.vocabulary import Metric
    from lifetwin.models.contract import ModelClass

hookspec = pluggy.HookspecMarker("lifetwin")
hookimpl = pluggy.HookimplMarker("lifetwin")


@dataclass(frozen=True)
class PackInfo:
    name: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class DomainInfo:
    """A data category: what a person grants consent by (``domain:NAME``)."""

    name: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class PurposeInfo:
    """What data may be used for (a consent purpose)."""

    name: str
    title: str
    description: str = ""


class Trigger(StrEnum):
    INGEST = "ingest"  # after new data for the person arrives (a background job)
    SCHEDULE = "schedule"  # from `lifetwin maintain` (daily)
    DEMAND = "demand"  # when someone asks (CLI, API, dashboard)


@dataclass(frozen=True)
class Capability:
    """Something the twin computes for one person.

    ``run(vault)`` reads through the consent gate for ``purpose`` and returns ``output``
    (a pydantic model); for an ``ingest`` capability, run in the background after new
    data of any of ``inputs`` arrives, the return value is ignored and whatever it
    publishes (alerts, forecasts) goes through the notifier it is given.
    """

    name: str
    description: str
    inputs: tuple[str, ...]  # metric codes or "event:KIND"
    purpose: str
    trigger: Trigger
    output: type[BaseModel] | None
    run: Callable[..., Any]


@dataclass(frozen=True)
class NavEntry:
    """A dashboard navigation entry (shown when ``when(streams)`` says the person has data
    for it; ``streams`` is the set of the person's metric codes). ``shows``: the codes of
    metrics that are not numbers (``sleep_stage``, ``event:workout``) this page is where
    to look at; a link to one of them opens the page."""

    label: str
    path: str  # relative to /p/{person_id}/
    order: int = 50
    when: Callable[[set[str]], bool] = field(default=lambda _streams: True)
    shows: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Page:
    """Dashboard pages: a router of page routes and the navigation entries for them."""

    router: Any  # fastapi.APIRouter (its routes render with lifetwin.web.layout.page)
    nav: Sequence[NavEntry] = ()
    templates: str | None = None  # a package whose templates/ folder holds the pages' templates


@dataclass(frozen=True)
class JobKind:
    """A kind of job on the service's durable queue (``lifetwin.services.jobs``):
    ``run(job_context)`` does the work; ``attempts`` caps how often a job that stopped
    (its worker died) is taken again (None: the service's setting)."""

    name: str
    run: Callable[[Any], None]
    attempts: int | None = None


class PackSpec:
    """The hooks a pack may implement."""

    @hookspec
    def lifetwin_pack(self) -> PackInfo:  # type: ignore[empty-body]
        """Name, title and description of the pack."""

    @hookspec
    def lifetwin_domains(self) -> list[DomainInfo]:  # type: ignore[empty-body]
        """Data categories (consent scopes ``domain:NAME``)."""

    @hookspec
    def lifetwin_purposes(self) -> list[PurposeInfo]:  # type: ignore[empty-body]
        """Consent purposes."""

    @hookspec
    def lifetwin_metrics(self) -> list[Metric]:  # type: ignore[empty-body]
        """Vocabulary entries."""

    @hookspec
    def lifetwin_event_domains(self) -> dict[str, str]:  # type: ignore[empty-body]
        """The data category of event kinds the pack owns (``{"meal": "nutrition"}``), so a
        category grant covers those events too."""

    @hookspec
    def lifetwin_connectors(self) -> list[Any]:  # type: ignore[empty-body]
        """Export formats (``lifetwin.sources.base.Connector``)."""

    @hookspec
    def lifetwin_models(self) -> list[ModelClass]:  # type: ignore[empty-body]
        """Per-person model classes, each passed through
        :func:`lifetwin.models.contract.register` (which mypy checks against the contract)."""

    @hookspec
    def lifetwin_capabilities(self) -> list[Capability]:  # type: ignore[empty-body]
        """What the twin computes."""

    @hookspec
    def lifetwin_cli(self, app: Any) -> None:
        """Add commands or command groups to the ``lifetwin`` typer app."""

    @hookspec
    def lifetwin_routers(self) -> list[Any]:  # type: ignore[empty-body]
        """FastAPI routers of the service (mounted at the root; use /api/v1/... paths)."""

    @hookspec
    def lifetwin_pages(self) -> list[Page]:  # type: ignore[empty-body]
        """Dashboard pages and navigation entries."""

    @hookspec
    def lifetwin_jobs(self) -> list[JobKind]:  # type: ignore[empty-body]
        """Kinds of background job (the service's workers run them)."""
