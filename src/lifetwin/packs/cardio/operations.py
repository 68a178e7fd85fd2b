"""Readiness, as an operation: a 0–100 summary of how a day's body signals compare with
the person's **own** baselines — a summary of your own baselines, not a medical score.

Four parts, each scored the same way and explained in plain words:

* **last night's sleep** — minutes asleep against the median of the nights before;
* **resting heart rate** — the day's value against its median (lower is better);
* **heart-rate variability** — the day's HRV (RMSSD, else SDNN) against its median
  (higher is better);
* **training load** — the last 7 days' mean daily active energy (else exercise minutes)
  over the last 28 days' (the acute:chronic ratio; Gabbett, Br J Sports Med 2016: above
  about 1.3 is a sharp rise).

A signal scores 80 at the person's usual and moves 20 points per typical spread (the
median absolute deviation × 1.4826 of the 28 days before, never below a floor of what a
device resolves), in the direction that is better, clipped to 0–100; the load scores 80 at
a ratio of 1, higher when lighter, and falls steeply above 1.3. The score is the weighted
mean of the parts present (weights 0.35, 0.25, 0.25, 0.15) and needs at least two; each
part says what it saw. Nothing here is validated against health outcomes: it is a way to
read one's own numbers at a glance.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.operations.local_time import day_start, local_minutes, person_zone

F64 = npt.NDArray[np.float64]
BASELINE_DAYS = 28
MIN_BASELINE_DAYS = 7
MIN_LOAD_DAYS = 21
WEIGHTS = {"sleep": 0.35, "resting_heart_rate": 0.25, "hrv": 0.25, "training_load": 0.15}
SPREAD_FLOOR = {"sleep": 20.0, "resting_heart_rate": 1.5, "hrv": 3.0}
NOTE = "A summary of your own baselines, not a medical score."


def robust_baseline(values: F64, floor: float) -> tuple[float, float] | None:
    """Median and typical spread (MAD × 1.4826, at least ``floor``) of past values.

    >>> robust_baseline(np.array([58.0, 60, 59, 61, 57, 60, 59]), 1.5)
    (59.0, 1.5)
    >>> robust_baseline(np.array([1.0, 2.0]), 1.0) is None
    True
    """
    ok = values[np.isfinite(values)]
    if len(ok) < MIN_BASELINE_DAYS:
        return None
    centre = float(np.median(ok))
    spread = float(np.median(np.abs(ok - centre)) * 1.4826)
    return round(centre, 2), round(max(spread, floor), 2)


def signal_score(value: float, usual: float, spread: float, higher_is_better: bool) -> int:
    """80 at the usual value, 20 points per spread in the better direction, in 0–100.

    >>> [signal_score(v, 59, 2, higher_is_better=False) for v in (59, 55, 65)]
    [80, 100, 20]
    """
    z = (value - usual) / spread
    return round(float(np.clip(80 + 20 * (z if higher_is_better else -z), 0, 100)))


def load_ratio(daily_load: F64) -> float | None:
    """The last 7 days' mean load over the mean of all (up to 28) days given, which must
    hold at least 21 days with data; missing days count as no load.

    >>> load_ratio(np.array([100.0] * 21 + [160.0] * 7))
    1.39
    >>> load_ratio(np.array([100.0] * 10)) is None
    True
    """
    recent = daily_load[-BASELINE_DAYS:]
    if np.count_nonzero(np.isfinite(recent)) < MIN_LOAD_DAYS:
        return None
    filled = np.nan_to_num(recent)
    chronic = float(np.mean(filled))
    if chronic <= 0:
        return None
    return round(float(np.mean(filled[-7:])) / chronic, 2)


def load_score(ratio: float) -> int:
    """80 at a ratio of 1; up to 100 when much lighter; 70 at 1.3, then 15 points per 0.1.

    >>> load_score(1.0), load_score(0.5), load_score(1.3), load_score(1.5), load_score(2.0)
    (80, 100, 70, 40, 0)
    """
    if ratio <= 1.0:
        score = 80 + 40 * (1.0 - ratio)
    elif ratio <= 1.3:
        score = 80 - (ratio - 1.0) / 0.3 * 10
    else:
        score = 70 - (ratio - 1.3) * 150
    return round(float(np.clip(score, 0, 100)))


def combine(scores: dict[str, int]) -> int | None:
    """The weighted mean of the parts present (at least two).

    >>> combine({"sleep": 100, "hrv": 60}), combine({"sleep": 90}) is None
    (83, True)
    """
    if len(scores) < 2:
        return None
    total = sum(WEIGHTS[k] for k in scores)
    return round(sum(WEIGHTS[k] * v for k, v in scores.items()) / total)


class ReadinessPart(BaseModel):
    name: str
    label: str
    score: int | None = Field(description="0-100; None when it could not be judged")
    weight: float
    value: float | None
    usual: float | None
    spread: float | None
    unit: str
    sentence: str


class Readiness(BaseModel):
    """A day's signals against the person's own baselines, as one 0–100 number and its
    parts in plain words."""

    person: str
    time_zone: str
    day: date
    score: int | None = Field(description="0-100, 80 is your usual; None with fewer than 2 parts")
    level: str
    sentence: str
    parts: list[ReadinessPart]
    note: str = NOTE


def _daily_means(ctx: Context, code: str, first: date, last: date, zone: Any) -> F64:
    data = ctx.vault().read_series(
        code,
        purpose=ctx.purpose,
        recipient=ctx.recipient,
        since=day_start(first, zone),
        until=day_start(last + timedelta(days=1), zone),
    )
    n = (last - first).days + 1
    out = np.full(n, np.nan)
    if not len(data):
        return out
    index = local_minutes(data.ts_ms, zone) // 1440 - (first - date(1970, 1, 1)).days
    ok = (index >= 0) & (index < n)
    sums = np.bincount(index[ok], weights=data.values[ok], minlength=n)
    counts = np.bincount(index[ok], minlength=n)
    have = counts > 0
    out[have] = sums[have] / counts[have]
    return out


def _daily_sums(ctx: Context, code: str, first: date, last: date, zone: Any) -> F64:
    from lifetwin.packs.athletics.workouts import daily_totals

    data = ctx.vault().read_series(
        code,
        purpose=ctx.purpose,
        recipient=ctx.recipient,
        since=day_start(first, zone),
        until=day_start(last + timedelta(days=1), zone),
    )
    n = (last - first).days + 1
    out = np.full(n, np.nan)
    if not len(data):
        return out
    days = local_minutes(data.ts_ms, zone) // 1440
    base = (first - date(1970, 1, 1)).days
    for day, total in daily_totals(days, data.stream_index.astype(np.int64), data.values).items():
        if 0 <= day - base < n:
            out[day - base] = total
    return out


def _signal(
    ctx: Context, name: str, code: str, label: str, unit: str, day: date, zone: Any, higher: bool
) -> ReadinessPart:
    first = day - timedelta(days=BASELINE_DAYS)
    values = _daily_means(ctx, code, first, day, zone)
    today, past = values[-1], values[:-1]
    base = robust_baseline(past, SPREAD_FLOOR[name])
    weight = WEIGHTS[name]
    if not np.isfinite(today):
        return ReadinessPart(
            name=name,
            label=label,
            score=None,
            weight=weight,
            value=None,
            usual=base[0] if base else None,
            spread=base[1] if base else None,
            unit=unit,
            sentence=f"{label}: nothing recorded for {day:%a %d %b} yet.",
        )
    value = round(float(today), 1)
    if base is None:
        return ReadinessPart(
            name=name,
            label=label,
            score=None,
            weight=weight,
            value=value,
            usual=None,
            spread=None,
            unit=unit,
            sentence=f"{label} {value:g} {unit}; a usual value needs {MIN_BASELINE_DAYS} "
            "earlier days.",
        )
    usual, spread = base
    score = signal_score(value, usual, spread, higher)
    diff = value - usual
    usual_text = f"{usual:g} ± {spread:.2g} {unit}"
    if abs(diff) < 0.5 * spread:
        how = f"about your usual ({usual_text})"
    else:
        better = (diff > 0) == higher
        side = "above" if diff > 0 else "below"
        how = f"{abs(diff):.0f} {unit} {side} your usual of {usual_text}: " + (
            "a good sign" if better else "a sign of strain, or just a different day"
        )
    return ReadinessPart(
        name=name,
        label=label,
        score=score,
        weight=weight,
        value=value,
        usual=usual,
        spread=spread,
        unit=unit,
        sentence=f"{label} {value:g} {unit}, {how}.",
    )


def _sleep_part(ctx: Context, day: date) -> ReadinessPart:
    from lifetwin.packs.sleep.operations import hours_minutes, sleep

    weight = WEIGHTS["sleep"]
    try:
        found = sleep(ctx, night=day - timedelta(days=1))
    except NotEnoughDataError:
        return ReadinessPart(
            name="sleep",
            label="Last night's sleep",
            score=None,
            weight=weight,
            value=None,
            usual=None,
            spread=None,
            unit="min",
            sentence="No sleep recorded for last night.",
        )
    past = np.array([n.asleep_min for n in found.nights[:-1]][-BASELINE_DAYS:], dtype=float)
    base = robust_baseline(past, SPREAD_FLOOR["sleep"])
    value = found.night.asleep_min
    if base is None:
        return ReadinessPart(
            name="sleep",
            label="Last night's sleep",
            score=None,
            weight=weight,
            value=value,
            usual=None,
            spread=None,
            unit="min",
            sentence=f"You slept {hours_minutes(value)}; a usual night needs "
            f"{MIN_BASELINE_DAYS} earlier nights.",
        )
    usual, spread = base
    diff = value - usual
    how = (
        "about as long as usual"
        if abs(diff) < 10
        else f"{hours_minutes(abs(diff))} {'more' if diff > 0 else 'less'} than your usual "
        f"{hours_minutes(usual)}"
    )
    return ReadinessPart(
        name="sleep",
        label="Last night's sleep",
        score=signal_score(value, usual, spread, True),
        weight=weight,
        value=value,
        usual=usual,
        spread=spread,
        unit="min",
        sentence=f"You slept {hours_minutes(value)}, {how}.",
    )


def _load_part(ctx: Context, day: date, zone: Any) -> ReadinessPart:
    weight = WEIGHTS["training_load"]
    last = day - timedelta(days=1)  # the day itself is not over
    first = last - timedelta(days=BASELINE_DAYS - 1)
    for code, what in (("active_energy", "active energy"), ("exercise_minutes", "exercise time")):
        ratio = load_ratio(_daily_sums(ctx, code, first, last, zone))
        if ratio is None:
            continue
        if ratio > 1.3:
            how = "a sharp rise: more than your body is used to lately"
        elif ratio < 0.8:
            how = "lighter than usual: time to recover"
        else:
            how = "in line with your recent weeks"
        return ReadinessPart(
            name="training_load",
            label="Training load",
            score=load_score(ratio),
            weight=weight,
            value=ratio,
            usual=1.0,
            spread=None,
            unit="× your 4-week average",
            sentence=f"Your {what} of the last 7 days is {ratio:g} × your 4-week average: {how}.",
        )
    return ReadinessPart(
        name="training_load",
        label="Training load",
        score=None,
        weight=weight,
        value=None,
        usual=None,
        spread=None,
        unit="× your 4-week average",
        sentence=f"Training load needs {MIN_LOAD_DAYS} days of active energy or exercise time "
        "in the last 4 weeks.",
    )


def _hrv_code(ctx: Context) -> str:
    held = {s.metric for s in ctx.vault().visible_streams(ctx.purpose, ctx.recipient)}
    return "hrv_rmssd" if "hrv_rmssd" in held else "hrv_sdnn"


LEVELS = (
    (85, "above your usual", "Your signals are better than your usual."),
    (70, "as usual", "Your signals are close to your usual."),
    (55, "a little below your usual", "Some signals are below your usual."),
    (
        0,
        "well below your usual",
        "Several signals are well below your usual; an easier day may suit you.",
    ),
)


def readiness(ctx: Context, *, day: date | None = None) -> Readiness:
    """The readiness of ``day`` (default: today on the person's clock, or yesterday while
    today has no sleep, resting heart rate or HRV yet: just after midnight the night is not
    over). Reads for the caller's purpose (the twin's own outputs read for twin_core)."""
    zone, zone_name = person_zone(ctx.vault().profile())
    today = datetime.now(UTC).astimezone(zone).date()
    chosen = day or today
    if chosen > today:
        raise LifeTwinError(f"{chosen.isoformat()} is in the future.")
    parts = _readiness_parts(ctx, chosen, zone)
    if day is None and all(p.value is None for p in parts if p.name != "training_load"):
        chosen = today - timedelta(days=1)
        parts = _readiness_parts(ctx, chosen, zone)
    if all(p.value is None for p in parts):
        raise NotEnoughDataError(
            f"There is nothing to summarise for {ctx.person.name} on {chosen:%d %b %Y}: no "
            "sleep, resting heart rate, HRV or activity that may be used for this."
        )
    score = combine({p.name: p.score for p in parts if p.score is not None})
    if score is None:
        level = "not enough data"
        sentence = (
            "Not enough of your own history to judge this day yet: a score needs at least two "
            f"signals with {MIN_BASELINE_DAYS} earlier days each."
        )
    else:
        level, sentence = next((name, text) for cut, name, text in LEVELS if score >= cut)
    return Readiness(
        person=ctx.person.name,
        time_zone=zone_name,
        day=chosen,
        score=score,
        level=level,
        sentence=sentence,
        parts=parts,
    )


def _readiness_parts(ctx: Context, chosen: date, zone: Any) -> list[ReadinessPart]:
    hrv = _hrv_code(ctx)
    return [
        _sleep_part(ctx, chosen),
        _signal(
            ctx,
            "resting_heart_rate",
            "resting_heart_rate",
            "Resting heart rate",
            "bpm",
            chosen,
            zone,
            higher=False,
        ),
        _signal(
            ctx,
            "hrv",
            hrv,
            "HRV (RMSSD)" if hrv == "hrv_rmssd" else "HRV (SDNN)",
            "ms",
            chosen,
            zone,
            higher=True,
        ),
        _load_part(ctx, chosen, zone),
    ]
