"""Learning: study time and lessons; Anki collections and exercise logs; the learner twin
(knowledge tracing and memory): ``lifetwin learn``, ``GET …/learning`` and the Learning
page."""

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

ORDER = 19


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("learning", "Learning", "lessons, flashcards, mastery and recall")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("learning", "Learning", "study time, lessons, flashcard reviews")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.learning.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"lesson_attempted": "learning"}


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.packs.learning.sources import AnkiConnector, ExerciseLogConnector

    return [AnkiConnector(), ExerciseLogConnector()]


def _learner_state(vault: Any, outbox: Any = None) -> Any:
    from lifetwin.packs.learning.capability import learner_state

    return learner_state(vault)


@hookimpl
def lifetwin_capabilities() -> list[Capability]:
    from lifetwin.packs.learning.capability import LearnerState

    return [
        Capability(
            name="learner_state",
            description="mastery per skill (BKT), forecast recall per card and deck (FSRS), "
            "the next review or exercise at the right difficulty",
            inputs=("event:lesson_attempted",),
            purpose="twin_core",
            trigger=Trigger.DEMAND,
            output=LearnerState,
            run=_learner_state,
        )
    ]


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.learning.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.learning.routes import router

    return [router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.learning.pages import router

    return [
        Page(
            router,
            nav=(
                NavEntry(
                    "Learning",
                    "learning",
                    order=70,
                    when=lambda held: "event:lesson_attempted" in held,
                ),
            ),
            templates="lifetwin.packs.learning",
        )
    ]
