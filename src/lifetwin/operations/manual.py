"""What the person logs by hand: mood and energy, a journal note, and values measured
elsewhere (blood pressure, weight, cholesterol, eGFR, glucose).

:func:`log` writes through the importer like any other source (source ``manual``, each
value flagged ``Quality.MANUAL_ENTRY``, one import record per entry), so the values are
deduplicated, converted to their metric's unit, audited and seen by every analysis. Each
answer is checked first: one that is not a value the metric can take refuses the whole
entry with one sentence, and nothing is stored.

>>> parse_amount("160 lb", "body_mass")
(160.0, 'lb')
>>> parse_pressure("120/80")
(120.0, 80.0)
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.operations.context import Context

MANUAL = "manual"  # the source of what the person types in (the demo's too)
NOTE_MAX = 4000  # characters of one journal note
_AMOUNT = re.compile(r"^\s*([-+]?[0-9]+(?:[.,][0-9]+)?)\s*([A-Za-z/µ%0-9.]*)\s*$")
_PRESSURE = re.compile(r"^\s*([0-9]{2,3})\s*/\s*([0-9]{2,3})\s*(?:mm ?hg)?\s*$", re.I)
# What each loggable value is: (metric, its name in a sentence, the units accepted).
VALUES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "weight": ("body_mass", "weight", ("kg", "lb", "lbs", "g")),
    "total_cholesterol": ("total_cholesterol", "total cholesterol", ("mg/dL", "mmol/L")),
    "hdl": ("hdl_cholesterol", "HDL cholesterol", ("mg/dL", "mmol/L")),
    "egfr": ("egfr", "eGFR", ("mL/min",)),
    "glucose": ("glucose", "glucose", ("mg/dL", "mmol/L")),
}


class LogError(LifeTwinError):
    """An entry that is not one LifeTwin can store (one sentence: what and why)."""


class LoggedValue(BaseModel):
    metric: str
    name: str
    value: float | str
    unit: str
    shown: str = Field(description="the value as people read it, with its unit")


class LogResult(BaseModel):
    """What one entry stored."""

    person: str
    at: datetime
    items: list[LoggedValue]
    stored: int = Field(description="new values")
    replaced: int = Field(description="values at the same time that this entry replaced")
    message: str


def parse_amount(text: str | float, what: str) -> tuple[float, str | None]:
    """A number with an optional unit (``72.5``, ``160 lb``, ``5.2 mmol/L``)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text), None
    match = _AMOUNT.match(str(text))
    if not match:
        raise LogError(f"'{str(text)[:40]}' is not a number for {what.replace('_', ' ')}.")
    return float(match.group(1).replace(",", ".")), (match.group(2) or None)


def parse_pressure(text: str) -> tuple[float, float]:
    """``systolic/diastolic`` in mmHg."""
    match = _PRESSURE.match(text or "")
    if not match:
        raise LogError(
            f"'{str(text)[:40]}' is not a blood pressure: write systolic/diastolic in mmHg, "
            "such as 120/80."
        )
    systolic, diastolic = float(match.group(1)), float(match.group(2))
    if systolic <= diastolic:
        raise LogError(
            f"In {text.strip()} the first number (systolic) must be above the second (diastolic)."
        )
    return systolic, diastolic


def _checked(code: str, value: float, unit: str | None, what: str) -> tuple[float, str]:
    """The value in the metric's unit, or one sentence on why it cannot be."""
    from lifetwin.core.display import amount
    from lifetwin.core.errors import UnitError
    from lifetwin.core.units import conversion
    from lifetwin.core.vocabulary import metric

    m = metric(code)
    try:
        converted = conversion(unit, m).apply(value)
    except UnitError:
        accepted = ", ".join(VALUES.get(what, ("", "", (m.unit,)))[2]) or m.unit
        raise LogError(
            f"'{unit}' is not a unit for {what.replace('_', ' ')} (use {accepted})."
        ) from None
    low, high = m.minimum, m.maximum
    if (low is not None and converted < low) or (high is not None and converted > high):
        raise LogError(
            f"{amount(converted, m.unit, m.code)} is not a plausible {what.replace('_', ' ')} "
            f"(LifeTwin takes {amount(low, m.unit, m.code)} to {amount(high, m.unit, m.code)})."
        )
    return converted, m.unit


def log(
    ctx: Context,
    *,
    at: datetime | None = None,
    mood: float | None = None,
    energy: float | None = None,
    note: str | None = None,
    blood_pressure: str | None = None,
    values: dict[str, str | float | None] | None = None,
) -> LogResult:
    """Store one entry of the person's: any of mood (-1 very unpleasant to +1 very
    pleasant), energy (1 to 5), a journal note, a blood pressure ``120/80`` and
    ``values`` (``weight``, ``total_cholesterol``, ``hdl``, ``egfr``, ``glucose``: a
    number with an optional unit), at ``at`` (default: now, in the person's zone)."""
    from lifetwin.core.display import amount
    from lifetwin.core.model import Observation, Provenance, Quality
    from lifetwin.core.vocabulary import metric
    from lifetwin.operations.person import zone_of
    from lifetwin.services.importer import import_items
    from lifetwin.sources.base import ReadOptions

    where = zone_of(ctx)
    moment = (at or datetime.now(where)).replace(microsecond=0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=where)
    moment = moment.astimezone(where)  # stored with the person's offset at that time
    numbers: list[tuple[str, float, str | None, str]] = []  # code, value, unit, what
    if mood is not None:
        if not -1 <= mood <= 1:
            raise LogError(
                f"Mood is from -1 (very unpleasant) to +1 (very pleasant), not {mood:g}."
            )
        numbers.append(("mood_valence", float(mood), None, "mood"))
    if energy is not None:
        if not 1 <= energy <= 5:
            raise LogError(f"Energy is from 1 (exhausted) to 5 (full of energy), not {energy:g}.")
        numbers.append(("energy_level", float(energy), None, "energy"))
    if blood_pressure:
        systolic, diastolic = parse_pressure(blood_pressure)
        numbers.append(("blood_pressure_systolic", systolic, "mmHg", "systolic blood pressure"))
        numbers.append(("blood_pressure_diastolic", diastolic, "mmHg", "diastolic blood pressure"))
    for what, given in (values or {}).items():
        if given is None or str(given).strip() == "":
            continue
        if what not in VALUES:
            raise LogError(f"'{what}' is not a value LifeTwin logs (it logs {', '.join(VALUES)}).")
        code, name, _units = VALUES[what]
        value, unit = parse_amount(given, name)
        numbers.append((code, value, unit, name))
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise LogError(f"A note holds at most {NOTE_MAX:,} characters; this one has {len(text):,}.")
    if not numbers and not text:
        raise LogError("There is nothing to log: give a mood, energy, a note or a value.")

    items: list[Observation] = []
    shown: list[LoggedValue] = []
    origin = Provenance(file="manual entry")
    for code, value, unit, what in numbers:
        converted, canonical = _checked(code, value, unit, what)
        m = metric(code)
        items.append(
            Observation(
                metric=code,
                value=converted,
                unit=canonical,
                start=moment,
                source=MANUAL,
                quality=Quality.MANUAL_ENTRY,
                provenance=origin,
            )
        )
        shown.append(
            LoggedValue(
                metric=code,
                name=m.name,
                value=round(converted, 3),
                unit=canonical,
                shown=amount(converted, canonical, code),
            )
        )
    if text:
        items.append(
            Observation(
                metric="journal_note",
                value=text,
                start=moment,
                source=MANUAL,
                quality=Quality.MANUAL_ENTRY,
                provenance=origin,
            )
        )
        shown.append(
            LoggedValue(metric="journal_note", name="Journal note", value=text, unit="", shown=text)
        )
    digest = hashlib.sha256(
        repr([(o.metric, o.value, o.start.isoformat()) for o in items]).encode()
    ).hexdigest()
    summary = import_items(
        ctx.store,
        ctx.person,
        lambda _options: iter(items),
        label="manual entry",
        digest=digest,
        fmt=MANUAL,
        cursor_name=MANUAL,
        options=ReadOptions(),
    )
    ctx.vault().reload_streams()  # the importer wrote through a vault of its own
    if summary.fatal or summary.problems or summary.quarantined:
        reason = summary.fatal or (
            summary.problems[0].reason if summary.problems else "implausible"
        )
        raise LogError(f"The entry was not stored: {reason}.")
    from lifetwin.core.display import local

    names = [
        v.name.split(" (")[0].lower() + f" {v.shown}" for v in shown if v.metric != "journal_note"
    ]
    if text:
        names.append("a note")
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return LogResult(
        person=ctx.person.name,
        at=moment,
        items=shown,
        stored=summary.stored,
        replaced=summary.changed,
        message=f"Logged {listed} at {local(moment, where)}.",
    )


def log_fields() -> dict[str, Any]:
    """What can be logged, for forms and help: value -> (name, accepted units)."""
    return {
        what: {"name": name, "units": list(units)} for what, (_c, name, units) in VALUES.items()
    }


class Entry(BaseModel):
    at: datetime
    metric: str
    name: str
    shown: str
    source: str


class EntryList(BaseModel):
    """The person's latest entries: mood, energy, notes and values logged by hand."""

    items: list[Entry]


LOGGED_METRICS = (
    "mood_valence",
    "energy_level",
    "journal_note",
    "blood_pressure_systolic",
    "blood_pressure_diastolic",
    *(code for code, _name, _units in VALUES.values()),
)


def recent(ctx: Context, *, limit: int = 12) -> EntryList:
    """The newest entries (mood, energy and notes from any source; values logged by hand),
    newest first."""
    from lifetwin.core.display import amount
    from lifetwin.core.model import Observation
    from lifetwin.core.vocabulary import metric

    vault = ctx.vault()
    held = {s.metric for s in vault.streams()}
    found: list[Entry] = []
    for code in LOGGED_METRICS:
        if code not in held:
            continue
        m = metric(code)
        if not m.is_numeric:
            for r in list(vault.read_records(code, purpose=ctx.purpose))[-limit:]:
                if isinstance(r, Observation):
                    found.append(
                        Entry(
                            at=r.start,
                            metric=code,
                            name="Note",
                            shown=str(r.value),
                            source=r.source,
                        )
                    )
            continue
        series = vault.read_series(code, purpose=ctx.purpose).tail(limit)
        for o in vault.series_observations(series):
            if code not in ("mood_valence", "energy_level") and o.source != MANUAL:
                continue
            found.append(
                Entry(
                    at=o.start,
                    metric=code,
                    name=m.name.split(" (")[0],
                    shown=amount(float(o.value), m.unit, code),
                    source=o.source,
                )
            )
    found.sort(key=lambda e: e.at, reverse=True)
    return EntryList(items=found[:limit])
