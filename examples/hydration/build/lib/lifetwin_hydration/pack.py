"""The pack's hooks: what it adds to LifeTwin. Each hook returns plain values; anything
heavy (the web layer, the CLI) is imported inside the hook that needs it."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Kind, Metric
from lifetwin.packs.contract import (
    Capability,
    DomainInfo,
    NavEntry,
    PackInfo,
    Page,
    Trigger,
    hookimpl,
)


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("hydration", "Hydration", "water drunk per day, from a CSV log")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    # A data category of its own: a person grants (or withholds) it like any other.
    return [DomainInfo("hydration", "Hydration", "how much you drink")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    # One vocabulary entry: canonical unit, plausible range (a value outside it is kept
    # aside in quarantine), and its category.
    return [
        Metric(
            "water_intake",
            "Water drunk",
            "hydration",
            Kind.INTERVAL,
            "mL",
            0,
            5000,
            aliases=("water_ml", "drink"),
        )
    ]


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin_hydration.connector import HydrationCsv

    return [HydrationCsv()]


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    from lifetwin_hydration.operations import daily_totals

    return [
        Capability(
            name="hydration_days",
            description="water drunk per local day against the daily goal",
            inputs=("water_intake",),
            purpose="twin_core",
            trigger=Trigger.DEMAND,
            output=None,
            run=lambda vault, outbox: daily_totals(vault),
        )
    ]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin_hydration.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin_hydration.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin_hydration.pages import router

    return [
        Page(
            router,
            nav=(
                NavEntry(
                    "Hydration", "hydration", order=40, when=lambda held: "water_intake" in held
                ),
            ),
            templates="lifetwin_hydration",
        )
    ]
