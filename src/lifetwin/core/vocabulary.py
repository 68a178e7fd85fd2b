"""The metric vocabulary: what a measurement is, and how to find one by any of its names.

Each metric has a code, a canonical unit, a plausible range (values outside it
are quarantined, not stored as good data), a kind, a data category, and its names in
HealthKit, Health Connect, Open mHealth and LOINC where those exist. The entries come
from the installed packs (``lifetwin_metrics``; the built-in domain packs hold the
core's 68), so a new domain adds its metrics without touching this module.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lifetwin.core.errors import UnknownMetricError


class Kind(StrEnum):
    """How a metric relates to time."""

    INSTANT = "instant"  # a value at one moment (a blood pressure reading)
    INTERVAL = "interval"  # a value over a span (steps in 10 minutes, a sleep stage)
    SERIES = "series"  # a dense stream sampled regularly (minute heart rate, CGM)


class ValueType(StrEnum):
    NUMBER = "number"
    CATEGORY = "category"
    TEXT = "text"


@dataclass(frozen=True)
class Metric:
    """One measurable thing, in one canonical unit."""

    code: str
    name: str
    domain: str  # a data category a pack registered (consent scopes ``domain:NAME``)
    kind: Kind
    unit: str  # canonical unit, a pint expression ("" for categories and text)
    minimum: float | None = None
    maximum: float | None = None
    value_type: ValueType = ValueType.NUMBER
    categories: tuple[str, ...] = ()
    healthkit: str | None = None
    health_connect: str | None = None
    openmhealth: str | None = None
    loinc: str | None = None
    molar_mass_g_mol: float | None = None  # lets mass and molar concentrations convert
    aliases: tuple[str, ...] = field(default=())
    loinc_aliases: tuple[str, ...] = field(default=())  # LOINC codes of the same measurement

    @property
    def is_numeric(self) -> bool:
        return self.value_type is ValueType.NUMBER


HK = "HKQuantityTypeIdentifier"
HKC = "HKCategoryTypeIdentifier"
GLUCOSE_MOLAR_MASS_G_MOL = 180.156
CHOLESTEROL_MOLAR_MASS_G_MOL = 386.65  # lab mmol/L <-> mg/dL factor 38.67


def metric(code: str) -> Metric:
    """Return the metric with this code (or a HealthKit, Open mHealth or alias name), or
    say which codes come closest.

    >>> metric("heart_rate").unit
    'bpm'
    """
    from lifetwin.packs.registry import registry

    found = registry().metric(code)
    if found is not None:
        return found
    close = suggestions(code)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `lifetwin metrics` lists them."
    raise UnknownMetricError(f"'{code}' is not a known metric{hint}")


# Words people use for a metric that are neither its code nor in its name.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "weight": ("body_mass",),
    "mass": ("body_mass",),
    "pulse": ("heart_rate",),
    "hr": ("heart_rate",),
    "rhr": ("resting_heart_rate",),
    "hrv": ("hrv_sdnn", "hrv_rmssd"),
    "bp": ("blood_pressure_systolic", "blood_pressure_diastolic"),
    "blood_pressure": ("blood_pressure_systolic", "blood_pressure_diastolic"),
    "sleep": ("sleep_duration", "sleep_stage"),
    "calories": ("active_energy", "dietary_energy"),
    "kcal": ("active_energy", "dietary_energy"),
    "energy": ("active_energy", "energy_level"),
    "mood": ("mood_valence",),
    "sugar": ("glucose",),
    "bg": ("glucose",),
    "cgm": ("glucose",),
    "a1c": ("hba1c",),
    "cholesterol": ("total_cholesterol", "hdl_cholesterol"),
    "spo2": ("oxygen_saturation",),
    "temperature": ("body_temperature", "ambient_temperature"),
    "walk": ("steps", "distance"),
    "money": ("transaction_amount", "account_balance"),
    "spending": ("transaction_amount",),
}


def suggestions(text: str, limit: int = 3) -> list[str]:
    """The metric codes someone who typed ``text`` may have meant: a synonym's metrics,
    metrics with the word in their name, then codes spelled alike.

    >>> suggestions("weight")[0], suggestions("hart_rate")[0]
    ('body_mass', 'heart_rate')
    """
    word = text.strip().lower().replace(" ", "_").replace("-", "_")
    found: list[str] = list(SYNONYMS.get(word, ()))
    for m in metrics():
        if len(word) >= 3 and word.replace("_", " ") in m.name.lower() and m.code not in found:
            found.append(m.code)
    for code in difflib.get_close_matches(word, metric_codes(), n=limit):
        if code not in found:
            found.append(code)
    return found[:limit]


def metrics() -> list[Metric]:
    """Every metric the installed packs define, in pack order."""
    from lifetwin.packs.registry import registry

    return list(registry().metrics.values())


def metric_codes() -> list[str]:
    return [m.code for m in metrics()]


def by_loinc(code: str) -> Metric | None:
    """The metric a LOINC code stands for (its own code or one of its aliases)."""
    from lifetwin.packs.registry import registry

    return registry().by_loinc.get(code)


def domains() -> list[Any]:
    """The data categories the installed packs define (``DomainInfo``), in pack order."""
    from lifetwin.packs.registry import registry

    return list(registry().domains.values())


def domain_names() -> set[str]:
    return {d.name for d in domains()}
