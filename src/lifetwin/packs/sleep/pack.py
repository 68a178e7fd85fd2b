"""Sleep: stages, duration, and the wind-down habits around it."""

from __future__ import annotations

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 12


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("sleep", "Sleep", "sleep stages and nightly totals")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("sleep", "Sleep", "sleep stages, duration, time in bed")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.sleep.metrics import METRICS

    return list(METRICS)
