"""The vocabulary entries of the mind pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import Kind, Metric, ValueType

_I = Kind.INSTANT

METRICS: tuple[Metric, ...] = (
    Metric(
        "mood_valence",
        "Mood (very unpleasant -1 to very pleasant +1)",
        "mood",
        _I,
        "dimensionless",
        -1,
        1,
        healthkit="HKStateOfMind",
    ),
    Metric("stress_level", "Stress level (0-100)", "mood", _I, "dimensionless", 0, 100),
    Metric("energy_level", "Energy level (1-5)", "mood", _I, "dimensionless", 1, 5),
    Metric(
        "phq9_score",
        "PHQ-9 depression score",
        "mood",
        _I,
        "dimensionless",
        0,
        27,
        loinc="44261-6",
    ),
    Metric(
        "gad7_score",
        "GAD-7 anxiety score",
        "mood",
        _I,
        "dimensionless",
        0,
        21,
        loinc="70274-6",
    ),
    Metric("journal_note", "Journal note", "mood", _I, "", value_type=ValueType.TEXT),
)
