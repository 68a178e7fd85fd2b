"""The core pack: the consent purposes every twin knows, the connectors of exports
that span many domains (Apple Health, Fitbit, Google Fit, Oura, Open mHealth, and any
CSV or JSON through a mapping — always tried last), and the daily forecaster, which
serves any daily metric."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lifetwin.packs.contract import Capability, NavEntry, PackInfo, Page, PurposeInfo, hookimpl

if TYPE_CHECKING:  # the model contract needs numpy; the CLI's start-up loads this module
    from lifetwin.models.contract import ModelClass

ORDER = 0

PURPOSES = (
    PurposeInfo("twin_core", "The twin itself", "baselines, state and summaries of your own twin"),
    PurposeInfo("forecasting", "Forecasts and alerts", "health forecasts and early warnings"),
    PurposeInfo("simulation", "What if", "simulating scenarios on your fitted twin"),
    PurposeInfo("recommendations", "Recommendations", "suggestions toward your goals"),
    PurposeInfo("sharing", "Sharing", "with a recipient you name (a clinician, coach, family)"),
    PurposeInfo("research", "Research", "population studies; only aggregates leave your vault"),
    PurposeInfo("product_improvement", "Product improvement", "improving LifeTwin itself"),
    PurposeInfo("self_access", "Your own access", "your view, exports and reports (a right)"),
)


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("core", "Twin core", "consent purposes and the multi-domain connectors")


@hookimpl
def lifetwin_purposes() -> list[PurposeInfo]:
    return list(PURPOSES)


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.apple_health import AppleHealthConnector
    from lifetwin.sources.openmhealth import OpenMHealthConnector
    from lifetwin.sources.tabular import TabularConnector
    from lifetwin.sources.wearables import FitbitConnector, GoogleFitConnector, OuraConnector

    return [
        AppleHealthConnector(),
        FitbitConnector(),
        GoogleFitConnector(),
        OuraConnector(),
        OpenMHealthConnector(),
        TabularConnector(),
    ]


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    from lifetwin.packs.core import capabilities

    return capabilities.CAPABILITIES


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.web.pages import importing, person, privacy, twin

    return [
        Page(
            twin.router,
            nav=(NavEntry("Overview", "", order=0), NavEntry("Insights", "insights", order=60)),
        ),
        Page(
            person.router,
            nav=(
                NavEntry("Log", "log", order=70),
                NavEntry("Metrics", "metrics", order=80),
                NavEntry("Profile", "profile", order=92),
            ),
        ),
        Page(importing.router, nav=(NavEntry("Import", "import", order=90),)),
        Page(privacy.router, nav=(NavEntry("Privacy", "privacy", order=95),)),
    ]


@hookimpl
def lifetwin_models() -> list[ModelClass]:
    from lifetwin.capabilities.daily_forecast import DailyForecaster
    from lifetwin.models.contract import register

    return [register(DailyForecaster)]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.core import trends_cli

    trends_cli.register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.core import trends_api

    return [trends_api.router]
