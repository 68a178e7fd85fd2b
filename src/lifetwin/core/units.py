"""Unit conversion to each metric's canonical unit, built on pint.

Conversions are looked up once per (unit, metric) pair and then applied as a
plain ``value * factor + offset``, so converting a million values costs one
numpy expression, not a million pint calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pint

from lifetwin.core.errors import UnitError
from lifetwin.core.vocabulary import Metric

_REGISTRY: pint.UnitRegistry[Any] = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
_REGISTRY.define("bpm = 1 / minute = beats_per_minute")
_REGISTRY.define("breaths_per_minute = 1 / minute")
_REGISTRY.define("insulin_unit = [insulin]")
_REGISTRY.define("decibel_spl = [sound_level] = dB_SPL")

# Spellings seen in real exports (HealthKit, UCUM as used by FHIR, Open mHealth,
# vendor CSVs) mapped onto pint expressions.
_ALIASES: dict[str, str] = {
    "bpm": "bpm",
    "count/min": "bpm",
    "beats/min": "bpm",
    "beats/minute": "bpm",
    "breaths/minute": "breaths_per_minute",
    "{beats}/min": "bpm",
    "/min": "bpm",
    "1/min": "bpm",
    "breaths/min": "breaths_per_minute",
    "{breaths}/min": "breaths_per_minute",
    "mm[hg]": "mmHg",
    "mmhg": "mmHg",
    "cel": "degC",
    "°c": "degC",
    "c": "degC",  # Open mHealth body-temperature spells Celsius "C" (not coulomb)
    "f": "degF",
    "degc": "degC",
    "celsius": "degC",
    "[degf]": "degF",
    "°f": "degF",
    "degf": "degF",
    "fahrenheit": "degF",
    "%": "percent",
    "percent": "percent",
    "[lb_av]": "pound",
    "lb": "pound",
    "lbs": "pound",
    "[in_i]": "inch",
    "in": "inch",
    "[mi_i]": "mile",
    "mi": "mile",
    "ft": "foot",
    "[ft_i]": "foot",
    "cal": "kcal",  # the dietary Calorie
    "kcal": "kcal",
    "{count}": "count",
    "count": "count",
    "steps": "count",
    "{steps}": "count",
    "u": "insulin_unit",
    "iu": "insulin_unit",
    "[iu]": "insulin_unit",
    "units": "insulin_unit",
    "db": "decibel_spl",
    "dbaspl": "decibel_spl",
    "db(spl)": "decibel_spl",
    "ml/(kg.min)": "mL/kg/min",
    "ml/kg/min": "mL/kg/min",
    "ml/min·kg": "mL/kg/min",
    "ug/m3": "microgram/m**3",
    "µg/m³": "microgram/m**3",
    "μg/m³": "microgram/m**3",
    "ug/m**3": "microgram/m**3",
    "kg/m2": "kg/m**2",
    # eGFR is reported per 1.73 m² of body surface: the normalization is in the metric
    "ml/min/{1.73_m2}": "mL/min",
    "ml/min/1.73m2": "mL/min",
    "ml/min/1.73 m2": "mL/min",
    "ml/min/1.73m^2": "mL/min",
    "ml/min/1.73_m2": "mL/min",
    "ml/min/{1.73m2}": "mL/min",
    "kg/m^2": "kg/m**2",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "g/dl": "g/dL",
    "ml": "mL",
    "l": "L",
    "ms": "millisecond",
    "s": "second",
    "min": "minute",
    "h": "hour",
    "hr": "hour",
    "1": "dimensionless",
    "": "dimensionless",
    "{score}": "dimensionless",
}

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Conversion:
    """A linear map from an input unit to a metric's canonical unit."""

    factor: float
    offset: float

    # Converted values keep 9 decimals: far finer than any sensor, and it keeps
    # 98.6 degF at 37.0 degC instead of 36.999999999998785.
    def apply(self, value: float) -> float:
        if self is IDENTITY:
            return value
        return round(value * self.factor + self.offset, 9)

    def apply_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self is IDENTITY:
            return values
        return np.round(values * self.factor + self.offset, 9)


IDENTITY = Conversion(1.0, 0.0)


def _parse(unit: str) -> pint.Unit:
    name = _ALIASES.get(unit.strip().lower(), unit.strip())
    try:
        return _REGISTRY.parse_units(name)
    except (
        pint.errors.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        ValueError,
        TypeError,
        AttributeError,
        AssertionError,
    ) as exc:
        raise UnitError(f"'{unit}' is not a unit LifeTwin knows") from exc


def _magnitude(value: float, source: pint.Unit, target: pint.Unit, metric: Metric) -> float:
    quantity = _REGISTRY.Quantity(value, source)
    try:
        return float(quantity.to(target).magnitude)
    except pint.errors.DimensionalityError:
        pass
    molar = metric.molar_mass_g_mol
    substance = _REGISTRY.parse_units("mol/L").dimensionality
    mass = _REGISTRY.parse_units("g/L").dimensionality
    if molar is not None:
        if quantity.dimensionality == substance and target.dimensionality == mass:
            grams_per_l = quantity.to("mol/L").magnitude * molar
            return float(_REGISTRY.Quantity(grams_per_l, "g/L").to(target).magnitude)
        if quantity.dimensionality == mass and target.dimensionality == substance:
            mol_per_l = quantity.to("g/L").magnitude / molar
            return float(_REGISTRY.Quantity(mol_per_l, "mol/L").to(target).magnitude)
    raise UnitError(
        f"{metric.name} is measured in {metric.unit}; '{source}' cannot be converted to it"
    )


@lru_cache(maxsize=1024)
def conversion(unit: str | None, metric: Metric) -> Conversion:
    """Return how to turn a value in ``unit`` into ``metric``'s canonical unit.

    ``None`` means the value is already in the canonical unit.

    >>> from lifetwin.core.vocabulary import metric
    >>> round(conversion("mmol/L", metric("glucose")).apply(5.5), 1)
    99.1
    >>> round(conversion("degF", metric("body_temperature")).apply(98.6), 2)
    37.0
    """
    if not metric.is_numeric:
        if unit not in (None, ""):
            raise UnitError(f"{metric.name} takes no unit, but '{unit}' was given")
        return IDENTITY
    if metric.unit == "currency":
        if unit is None or not _CURRENCY.match(unit.strip().upper()):
            raise UnitError(
                f"{metric.name} needs an ISO 4217 currency code as its unit, not '{unit}'"
            )
        return IDENTITY
    if unit is None:
        return IDENTITY
    source = _parse(unit)
    target = _parse(metric.unit)
    if source == target:
        return IDENTITY
    at_zero = _magnitude(0.0, source, target, metric)
    at_one = _magnitude(1.0, source, target, metric)
    return Conversion(factor=at_one - at_zero, offset=at_zero)


def canonical_unit(metric: Metric, given: str | None) -> str:
    """The unit a stored value of ``metric`` is in (a currency keeps its own code)."""
    if metric.unit == "currency":
        return (given or "").strip().upper()
    return metric.unit


def is_known_unit(unit: str) -> bool:
    try:
        _parse(unit)
    except UnitError:
        return False
    return True
