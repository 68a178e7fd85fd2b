"""Metabolic health: CGM glucose, insulin, meals and nutrition; CGM exports and uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import (
    Capability,
    DomainInfo,
    NavEntry,
    PackInfo,
    Page,
    Trigger,
    hookimpl,
)

if TYPE_CHECKING:  # the model contract needs numpy; the CLI's start-up loads this module
    from lifetwin.models.contract import ModelClass

ORDER = 11


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("metabolic", "Metabolic", "CGM, insulin, meals, the glucose twin")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [
        DomainInfo("metabolic", "Metabolic", "glucose, insulin, HbA1c, cholesterol"),
        DomainInfo("nutrition", "Nutrition", "meals, water, caffeine, alcohol"),
    ]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.metabolic.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"meal": "nutrition", "insulin": "metabolic"}


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.cgm import (
        DexcomClarityConnector,
        LibreViewConnector,
        NightscoutConnector,
        TidepoolConnector,
    )

    return [
        DexcomClarityConnector(),
        LibreViewConnector(),
        NightscoutConnector(),
        TidepoolConnector(),
    ]


def _glucose_forecast(vault: Any, outbox: Any) -> None:
    from datetime import UTC, datetime

    from lifetwin.capabilities.glucose_forecast import forecast_for_person

    result = forecast_for_person(vault)
    if result is None:
        return
    outbox.publish(
        "forecast",
        {
            "from": datetime.fromtimestamp(result.last_reading_ms / 1000, UTC).isoformat(),
            "last_mg_dl": result.last_mg_dl,
            "forecasts": [f.__dict__ for f in result.forecasts],
            "hypo_warning": result.hypo_warning,
            "current": result.current,
            "status": result.status,
        },
        key=f"forecast|{result.last_reading_ms}",
    )


def _cgm_report(vault: Any, outbox: Any) -> Any:
    from lifetwin.capabilities.cgm_report import cgm_report
    from lifetwin.privacy.consent import Purpose

    return cgm_report(vault, Purpose.SELF_ACCESS)


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    return [
        Capability(
            name="glucose_forecast",
            description="glucose 30-120 minutes ahead with intervals, and the low alert",
            inputs=("glucose",),
            purpose="forecasting",
            trigger=Trigger.INGEST,
            output=None,
            run=_glucose_forecast,
        ),
        Capability(
            name="cgm_report",
            description="time in ranges, GMI, CV, MAGE, LBGI/HBGI and the AGP (consensus 2019)",
            inputs=("glucose",),
            purpose="self_access",
            trigger=Trigger.DEMAND,
            output=None,
            run=_cgm_report,
        ),
    ]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.metabolic.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.metabolic.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.web.pages import glucose

    return [
        Page(
            glucose.router,
            nav=(NavEntry("Glucose", "cgm", order=20, when=lambda held: "glucose" in held),),
        )
    ]


@hookimpl
def lifetwin_models() -> list[ModelClass]:
    from lifetwin.capabilities.glucose_forecast import GlucoseForecaster
    from lifetwin.models.contract import register

    return [register(GlucoseForecaster)]
