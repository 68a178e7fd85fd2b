"""Mind: mood, stress, energy, questionnaires and the journal."""

from __future__ import annotations

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 14


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("mind", "Mind", "mood, stress, questionnaires, journal")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("mood", "Mood", "mood, stress, energy, PHQ-9, GAD-7, journal notes")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.mind.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"journal_note": "mood", "symptom": "mood"}
