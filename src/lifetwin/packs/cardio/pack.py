"""Cardio and body: heart rate, resting heart rate, HRV, blood pressure, SpO2, temperature,
respiration; weight, height and body composition."""

from __future__ import annotations

from typing import Any

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

ORDER = 10


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("cardio", "Heart and body", "vital signs, body measures, illness warning, risk")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [
        DomainInfo("vitals", "Vital signs", "heart rate, HRV, blood pressure, SpO2, temperature"),
        DomainInfo("body", "Body", "weight, height, body fat"),
    ]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.cardio.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"menstruation": "body"}  # the first day of a period (cycle tracking)


def _illness(vault: Any, outbox: Any) -> None:
    from lifetwin.capabilities.early_warning import illness_alerts

    illness_alerts(vault, notifiers=[outbox])


def _risk(vault: Any, outbox: Any) -> Any:
    from lifetwin.capabilities.risk import risk_report

    return risk_report(vault)


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    return [
        Capability(
            name="illness_warning",
            description="nightly resting heart rate, HRV, respiration and skin temperature "
            "against the person's baseline, adjusted for what they logged",
            inputs=(
                "resting_heart_rate",
                "hrv_sdnn",
                "hrv_rmssd",
                "respiratory_rate",
                "skin_temperature_deviation",
            ),
            purpose="forecasting",
            trigger=Trigger.INGEST,
            output=None,
            run=_illness,
        ),
        Capability(
            name="risk_scores",
            description="FINDRISC, ADA, pooled cohort equations, Framingham and PREVENT",
            inputs=(),
            purpose="twin_core",
            trigger=Trigger.DEMAND,
            output=None,
            run=_risk,
        ),
    ]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.cardio import pages
    from lifetwin.web.pages import risk

    return [
        Page(risk.router, nav=(NavEntry("Risk", "risk", order=50),)),
        Page(
            pages.router,
            nav=(
                NavEntry(
                    "Readiness", "readiness", order=5, when=lambda held: bool(held & READINESS)
                ),
            ),
            templates="lifetwin.packs.cardio",
        ),
    ]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.cardio.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.cardio.routes import router

    return [router]


READINESS = {"resting_heart_rate", "hrv_sdnn", "hrv_rmssd", "sleep_stage", "sleep_duration"}
