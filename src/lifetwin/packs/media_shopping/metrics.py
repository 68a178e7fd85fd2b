"""The vocabulary entries of the media shopping pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import Kind, Metric

_IV = Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    Metric("screen_time", "Screen time", "media", _IV, "min", 0, 1_440),
    Metric("media_minutes", "Minutes watched or listened", "media", _IV, "min", 0, 1_440),
)
