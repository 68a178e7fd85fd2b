"""Athletics: steps, distance, energy, workouts with their routes; FIT, TCX and GPX files;
training load and the fitness–fatigue model."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, NavEntry, PackInfo, Page, hookimpl

ORDER = 13


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo(
        "athletics", "Activity and training", "workouts, training load, fitness–fatigue"
    )


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("activity", "Activity", "steps, distance, energy, workouts")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.athletics.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"workout": "activity"}


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.activity import FitConnector, GpxConnector, TcxConnector

    return [FitConnector(), TcxConnector(), GpxConnector()]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.athletics.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.athletics.routes import router

    return [router]


ACTIVITY = {"steps", "active_energy", "distance", "exercise_minutes", "event:workout"}


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.athletics.pages import router

    return [
        Page(
            router,
            nav=(
                NavEntry(
                    "Activity",
                    "activity",
                    order=30,
                    when=lambda held: bool(held & ACTIVITY),
                    shows=frozenset({"event:workout"}),
                ),
            ),
            templates="lifetwin.packs.athletics",
        )
    ]
