"""The vocabulary entries of the sleep pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import HK, HKC, Kind, Metric, ValueType

_HK = HK
_HKC = HKC
_I, _IV = Kind.INSTANT, Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    Metric(
        "sleep_stage",
        "Sleep stage",
        "sleep",
        _IV,
        "",
        value_type=ValueType.CATEGORY,
        categories=("in_bed", "asleep", "awake", "light", "deep", "rem"),
        healthkit=f"{_HKC}SleepAnalysis",
        health_connect="SleepSessionRecord",
        openmhealth="omh:sleep-episode",
    ),
    Metric("readiness_score", "Readiness score (0-100)", "sleep", _I, "dimensionless", 0, 100),
    Metric(
        "sleep_duration",
        "Sleep duration",
        "sleep",
        _IV,
        "min",
        0,
        1_440,
        openmhealth="omh:sleep-duration",
        loinc="93832-4",
    ),
    Metric(
        "mindful_minutes",
        "Mindful minutes",
        "sleep",
        _IV,
        "min",
        0,
        1_440,
        healthkit=f"{_HKC}MindfulSession",
        health_connect="MindfulnessSessionRecord",
    ),
)
