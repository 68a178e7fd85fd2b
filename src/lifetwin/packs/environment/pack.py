"""Environment: weather, air quality, and the home's sensors."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 17


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("environment", "Environment", "weather, air quality, smart home")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("environment", "Environment", "weather, air, noise, indoor climate")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.environment.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.environment import OpenMeteoConnector, SmartHomeConnector

    return [OpenMeteoConnector(), SmartHomeConnector()]
