"""Cardio and body: heart rate, resting heart rate, HRV, blood pressure, SpO2, temperature,
respiration; weight, height and body composition."""

from __future__ import annotations

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

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
