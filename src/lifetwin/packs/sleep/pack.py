"""Sleep: stages, duration, and the wind-down habits around it."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, NavEntry, PackInfo, Page, hookimpl

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


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.sleep.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.sleep.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.sleep.pages import router

    return [
        Page(
            router,
            nav=(
                NavEntry(
                    "Sleep",
                    "sleep",
                    order=25,
                    when=lambda held: "sleep_stage" in held or "sleep_duration" in held,
                    shows=frozenset({"sleep_stage"}),
                ),
            ),
            templates="lifetwin.packs.sleep",
        )
    ]
