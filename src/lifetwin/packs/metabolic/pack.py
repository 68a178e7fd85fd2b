"""Metabolic health: CGM glucose, insulin, meals and nutrition; CGM exports and uploads."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.models.contract import ModelClass, register
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

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


@hookimpl
def lifetwin_models() -> list[ModelClass]:
    from lifetwin.capabilities.glucose_forecast import GlucoseForecaster

    return [register(GlucoseForecaster)]
