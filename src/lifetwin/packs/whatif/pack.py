"""What if: scenarios on the person's fitted twin, and the best plan within safety limits."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.contract import NavEntry, PackInfo, Page, hookimpl

ORDER = 30


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("whatif", "What if", "scenarios and safe suggestions on your own twin")


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.whatif.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.whatif.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.whatif.pages import router

    return [
        Page(
            router,
            nav=(NavEntry("What if", "whatif", order=70, when=_has_twin_data),),
            templates="lifetwin.packs.whatif",
        )
    ]


# What the page can simulate: glucose, training, sleep.
TWIN_DATA = frozenset({"glucose", "event:workout", "sleep_stage", "sleep_duration"})


def _has_twin_data(held: set[str]) -> bool:
    return bool(held & TWIN_DATA)
