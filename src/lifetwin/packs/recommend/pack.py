"""Recommendations toward the person's own goals, with reasons, feedback and guardrails:
the ``recommend``, ``feedback``, ``recommend-settings`` and ``recommend-log`` commands,
the ``…/recommendations`` routes and the "For you" page."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.contract import Capability, NavEntry, PackInfo, Page, Trigger, hookimpl

ORDER = 31


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo(
        "recommend", "Recommendations", "nudges and items, explained, toward your goals"
    )


def _recommend(vault: Any, outbox: Any = None) -> Any:
    from lifetwin.packs.recommend.capability import recommend

    return recommend(vault)


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    from lifetwin.packs.recommend.capability import Recommendations

    return [
        Capability(
            name="recommendations",
            description="nudges and items toward the person's goals, with reasons and lineage",
            inputs=(
                "sleep_duration",
                "steps",
                "mood_valence",
                "glucose",
                "event:transaction",
                "event:purchase",
                "event:lesson_attempted",
            ),
            purpose="recommendations",
            trigger=Trigger.DEMAND,
            output=Recommendations,
            run=_recommend,
        )
    ]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.recommend.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.recommend.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.recommend.pages import router

    return [
        Page(
            router,
            nav=(NavEntry("For you", "recommendations", order=65),),
            templates="lifetwin.packs.recommend",
        )
    ]
