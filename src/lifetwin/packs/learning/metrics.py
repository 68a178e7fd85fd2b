"""The vocabulary entries of the learning pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import Kind, Metric

_I, _IV = Kind.INSTANT, Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    Metric("study_minutes", "Study time", "learning", _IV, "min", 0, 1_440),
    Metric("lesson_score", "Lesson score (0-1)", "learning", _I, "dimensionless", 0, 1),
)
