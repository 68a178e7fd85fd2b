"""Learning: study time and lessons; Anki collections and exercise logs; the learner twin
(knowledge tracing and memory)."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

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
