"""How values and times are shown to people, the same on the command line and the dashboard.

* :func:`unit_label` — a unit as people write it (``°C``, ``kg/m²``, ``breaths/min``),
  never ``dimensionless``, ``count`` or ``currency``: a count says what it counts
  (``steps``), a score its scale (``of 5``), money its currency code.
* :func:`number` and :func:`amount` — a value with thousands separators and sensible
  decimals, and with its unit (minutes as hours and minutes, metres as km past 1,000);
  ``amount(..., change=True)`` rounds a difference to two significant digits, the
  precision its confidence interval allows.
* :func:`zone` and :func:`local` — times in the person's time zone with the zone named
  (the profile's ``time_zone``, else the offset their data was recorded in), so a run
  at 07:34 local and its heart rate never look hours apart.

Pure functions on the standard library only (the command line imports this at start-up).

>>> amount(3412.0, "count", "steps", change=True)
'3,400 steps'
>>> amount(21.4, "min", change=True)
'21 min'
>>> amount(459.0, "min")
'7 h 39 min'
>>> amount(0.273, "dimensionless", "mood_valence", change=True)
'0.27 points'
>>> amount(4.0, "dimensionless", "energy_level")
'4 of 5'
>>> amount(-12.5, "currency", currency="EUR"), amount(-36.8, "EUR")
('-12.50 EUR', '-36.80 EUR')
>>> local(datetime(2026, 3, 1, 6, 34, tzinfo=UTC), zone("Europe/Berlin"))
'2026-03-01 07:34 CET'
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo

# Units as people write them (keys are the vocabulary's pint expressions).
_UNITS = {
    "percent": "%",
    "degC": "°C",
    "delta_degC": "°C",
    "breaths_per_minute": "breaths/min",
    "kg/m**2": "kg/m²",
    "microgram/m**3": "µg/m³",
    "mL/min": "mL/min/1.73 m²",
    "U": "U",
    "dimensionless": "",
    "count": "",
    "currency": "",
    "": "",
}
# What a count counts (singular, plural).
_COUNTS = {
    "steps": ("step", "steps"),
    "flights_climbed": ("flight", "flights"),
    "alcoholic_drinks": ("drink", "drinks"),
    "stand_hours": ("hour", "hours"),
}
# The scale of a score (a value reads "4 of 5"; a difference is in "points").
_SCALES = {
    "mood_valence": "(−1 to +1)",
    "energy_level": "of 5",
    "stress_level": "of 100",
    "readiness_score": "of 100",
    "lesson_score": "of 1",
    "phq9_score": "points",
    "gad7_score": "points",
    "uv_index": "",
}


def unit_label(unit: str, code: str | None = None, currency: str | None = None) -> str:
    """The unit shown after a value (may be empty, never a placeholder).

    >>> unit_label("kg/m**2"), unit_label("count", "steps"), unit_label("currency", None, "EUR")
    ('kg/m²', 'steps', 'EUR')
    """
    if unit == "currency":
        return currency or ""
    if code in _COUNTS:
        return _COUNTS[code][1]
    if code in _SCALES:
        return _SCALES[code]
    return _UNITS.get(unit, unit)


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def number(value: float, *, significant: int | None = None) -> str:
    """A number as people read it: thousands separators; no decimals from 100 up, one
    from 10, two below (trailing zeros dropped); or ``significant`` digits.

    >>> number(1164.6), number(68.3201), number(0.4), number(3412, significant=2)
    ('1,165', '68.3', '0.4', '3,400')
    """
    if not math.isfinite(value):
        return "—"
    if significant is not None and value != 0:
        digits = significant - 1 - math.floor(math.log10(abs(value)))
        value = round(value, digits)
        if digits <= 0:
            return f"{value:,.0f}"
        return _strip(f"{value:,.{digits}f}")
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return _strip(f"{value:,.1f}")
    return _strip(f"{value:,.2f}")


def _minutes(value: float, significant: int | None) -> str:
    minutes = abs(value)
    if significant is not None:
        minutes = float(number(minutes, significant=significant).replace(",", ""))
    sign = "-" if value < 0 else ""
    if minutes < 60:
        return f"{sign}{number(minutes) if minutes < 10 else f'{minutes:.0f}'} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{sign}{hours} h" + (f" {rest} min" if rest else "")


def amount(
    value: float | None,
    unit: str,
    code: str | None = None,
    *,
    currency: str | None = None,
    change: bool = False,
) -> str:
    """A value with its unit, for people; ``change``: a difference (two significant
    digits; a score's difference is in points).

    >>> amount(2100.0, "m"), amount(68.32, "bpm"), amount(1.0, "count", "steps")
    ('2.1 km', '68.3 bpm', '1 step')
    """
    if value is None or not math.isfinite(value):
        return "—"
    significant = 2 if change else None
    if unit == "min":
        return _minutes(value, significant)
    if unit == "m" and abs(value) >= 1000:
        return f"{number(value / 1000, significant=significant or 3)} km"
    if unit == "currency" or (len(unit) == 3 and unit.isalpha() and unit.isupper()):
        text = f"{value:,.2f}"
        code = currency if unit == "currency" else unit
        return f"{text} {code}" if code else text
    shown = number(value, significant=significant)
    if code in _SCALES and change:
        return f"{shown} points"
    if code in _COUNTS:
        one, many = _COUNTS[code]
        return f"{shown} {one if shown == '1' else many}"
    label = unit_label(unit, code, currency)
    if not label:
        return shown
    return f"{shown}{label}" if label == "%" else f"{shown} {label}"


def span(low: float, high: float, unit: str, code: str | None = None) -> str:
    """An interval of a difference, its unit said once.

    >>> span(-42.4, -14.2, "min"), span(0.14, 0.4, "dimensionless", "mood_valence")
    ('-42 to -14 min', '0.14 to 0.4 points')
    """
    first = amount(low, unit, code, change=True)
    last = amount(high, unit, code, change=True)
    a, b = first.split(" "), last.split(" ")
    if len(a) == 2 and len(b) == 2 and a[1] == b[1]:
        return f"{a[0]} to {last}"
    return f"{first} to {last}"


_SUFFIXES = {
    "_m": "m",
    "_kcal": "kcal",
    "_bpm": "bpm",
    "_g": "g",
    "_u": "U",
    "_min": "min",
    "_kg": "kg",
    "_mg_dl": "mg/dL",
}


def details(fields: dict[str, object], limit: int = 6) -> str:
    """An event's details in one line, each number with the unit its name carries.

    >>> details({"distance_m": 10520.0, "duration_s": 3000, "avg_heart_rate_bpm": 151.2})
    'distance 10.5 km, duration 50 min, avg heart rate 151 bpm'
    """
    parts = []
    for key, value in fields.items():
        if value is None or isinstance(value, dict | list):
            continue
        label, shown = key, str(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key.endswith("_s"):
                label, shown = key[:-2], _minutes(float(value) / 60, None)
            else:
                suffix = next((s for s in _SUFFIXES if key.endswith(s)), None)
                if suffix:
                    label, shown = key[: -len(suffix)], amount(float(value), _SUFFIXES[suffix])
                else:
                    shown = number(float(value))
        parts.append(f"{label.replace('_', ' ')} {shown}")
        if len(parts) == limit:
            break
    return ", ".join(parts)


# -- times --------------------------------------------------------------------------------
def zone(name: str | None = None, offset_min: int | None = None) -> tzinfo:
    """The zone times are shown in: a named IANA zone, else a fixed offset (the one the
    data was recorded in), else UTC.

    >>> zone(None, 60).tzname(None), zone().tzname(None)
    ('UTC+01:00', 'UTC')
    """
    if name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if offset_min:
        return timezone(timedelta(minutes=offset_min))
    return UTC


def local(
    moment: datetime | str | None, where: tzinfo | None = None, *, seconds: bool = False
) -> str:
    """A time (or an ISO 8601 text) in ``where`` with the zone's name (``2026-03-01 07:34 CET``).

    >>> local("2026-07-01T05:34:00Z", zone("Europe/Berlin"))
    '2026-07-01 07:34 CEST'
    """
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(where or UTC)
    text = shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {shown.tzname() or ''}".rstrip()


def zone_name(where: tzinfo | None) -> str:
    """How a zone is named to people: its IANA key (``Europe/Berlin``) or its offset."""
    key = getattr(where, "key", None)
    if key:
        return str(key)
    return (where or UTC).tzname(None) or "UTC"
