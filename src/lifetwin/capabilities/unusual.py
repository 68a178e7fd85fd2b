"""When a value is "unusual": one rule for every place that flags values.

A value is unusual when

* it lies outside the person's targets, where the metric has targets (glucose: 70-180
  mg/dL by default, the consensus target range of Battelino et al. 2019; the person can
  set their own with the profile facts ``glucose_low_mg_dl`` and ``glucose_high_mg_dl``),
  or
* it is far from the person's own baseline (their usual value for that hour of the week,
  or overall while the hour has too few values): a robust z-score beyond the limit
  (``UNUSUAL_Z``, or a limit derived from a false-alarm budget), where the spread can
  never collapse below a physiologically plausible floor (:data:`SPREAD_FLOOR`: for
  glucose 15 mg/dL, about the within-day SD of people without diabetes, so a steady
  week cannot make 140 mg/dL look extreme).

Amounts that are events — insulin doses, carbohydrates and other intake, payments,
sessions — are never unusual by their value (:data:`EVENT_METRICS`): a bolus is meant to
be larger than the basal rate.

Entry points: :func:`unusual` (one value against one baseline), :func:`assess` (the
newest value of a metric in a twin state), :func:`spread_floor`, :func:`glucose_targets`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from lifetwin.capabilities.twin_state import Baseline, TwinState

UNUSUAL_Z = 4.0  # robust z from which a value is shown as unusual
MIN_SLOT = 8  # values an hour-of-week baseline needs before it is used
DEFAULT_GLUCOSE_TARGETS = (70.0, 180.0)

# Robust-SD floors in each metric's canonical unit: the least day-to-day or reading-to-
# reading spread that is physiologically plausible for one person.
SPREAD_FLOOR: dict[str, float] = {
    "glucose": 15.0,  # mg/dL
    "heart_rate": 5.0,  # bpm
    "resting_heart_rate": 2.0,
    "walking_heart_rate": 3.0,
    "hrv_sdnn": 8.0,  # ms
    "hrv_rmssd": 6.0,
    "blood_pressure_systolic": 6.0,  # mmHg
    "blood_pressure_diastolic": 4.0,
    "respiratory_rate": 0.7,  # breaths per minute
    "oxygen_saturation": 1.0,  # percent
    "body_temperature": 0.2,  # °C
    "skin_temperature_deviation": 0.2,
    "body_mass": 0.5,  # kg
    "bmi": 0.2,
    "body_fat": 0.5,
    "sleep_duration": 30.0,  # minutes
    "ketones": 0.1,  # mmol/L
    # self-ratings on a few-point scale: one step of the scale is the least spread
    "mood_valence": 0.15,  # -1 to +1
    "energy_level": 0.5,  # 1-5
    "stress_level": 5.0,  # 0-100
}
EVENT_METRICS = frozenset(
    {
        "insulin_delivered",
        "insulin_on_board",
        "carbohydrates",
        "carbs_on_board",
        "dietary_energy",
        "protein",
        "fat_total",
        "water",
        "caffeine",
        "alcoholic_drinks",
        "transaction_amount",
        "exercise_minutes",
        "mindful_minutes",
        "screen_time",
        "media_minutes",
        "study_minutes",
        # amounts per interval of a watch (a minute's steps): a low one is a quiet minute
        "steps",
        "distance",
        "distance_cycling",
        "active_energy",
        "basal_energy",
        "flights_climbed",
        "stand_minutes",
    }
)
_TARGETS = {"glucose": DEFAULT_GLUCOSE_TARGETS}


def spread_floor(metric_code: str, centre: float) -> float:
    """The least robust SD a baseline of this metric may have (at least that of a median
    absolute deviation of 1 % of the level, so a near-constant stream is not brittle).

    >>> spread_floor("glucose", 120.0), round(spread_floor("steps", 300.0), 2)
    (15.0, 4.45)
    """
    return max(SPREAD_FLOOR.get(metric_code, 0.0), 1.4826 * 0.01 * abs(centre))


class Verdict(BaseModel):
    """Whether one value is unusual for the person, and why."""

    metric: str
    value: float
    unusual: bool
    reason: Literal["below_target", "above_target", "high_for_you", "low_for_you"] | None
    z: float | None  # against the person's baseline (None: no baseline, or an event)
    usual: float | None  # the baseline's centre
    spread: float | None  # the robust SD used (never below the floor)
    targets: tuple[float, float] | None = None
    sentence: str


def robust_z(metric_code: str, value: float, centre: float, mad: float) -> tuple[float, float]:
    """(z, robust SD) of a value against a centre and a median absolute deviation, the SD
    floored (:func:`spread_floor`).

    >>> robust_z("glucose", 74.0, 123.2, 2.69)[0] > -4  # a 4 mg/dL spread is not believed
    True
    """
    sd = max(1.4826 * mad, spread_floor(metric_code, centre))
    return (value - centre) / sd, sd


def unusual(
    metric_code: str,
    value: float,
    baseline: Baseline | None = None,
    *,
    targets: tuple[float, float] | None = None,
    z_limit: float = UNUSUAL_Z,
) -> Verdict:
    """The one rule: outside the targets, or beyond ``z_limit`` from the baseline.

    ``targets`` default to the metric's own (glucose 70-180); pass the person's.

    >>> unusual("glucose", 150.0).unusual, unusual("glucose", 42.0).reason
    (False, 'below_target')
    >>> unusual("insulin_delivered", 12.0).unusual
    False
    """
    name = metric_code.replace("_", " ")
    if metric_code in EVENT_METRICS:
        return Verdict(
            metric=metric_code,
            value=value,
            unusual=False,
            reason=None,
            z=None,
            usual=None,
            spread=None,
            sentence=f"{value:g} ({name}) is an amount, not judged by its size.",
        )
    bounds = targets if targets is not None else _TARGETS.get(metric_code)
    z = sd = centre = None
    if baseline is not None and baseline.n >= 5:
        centre = baseline.centre
        z, sd = robust_z(metric_code, value, centre, baseline.spread)
    reason: Any = None
    if bounds is not None and value < bounds[0]:
        reason = "below_target"
        sentence = f"{value:g} is below your target range ({bounds[0]:g}-{bounds[1]:g})."
    elif bounds is not None and value > bounds[1]:
        reason = "above_target"
        sentence = f"{value:g} is above your target range ({bounds[0]:g}-{bounds[1]:g})."
    elif z is not None and abs(z) >= z_limit:
        reason = "high_for_you" if z > 0 else "low_for_you"
        sentence = (
            f"{value:g} is unusually {'high' if z > 0 else 'low'} for you "
            f"(usually {centre:.4g} ± {sd:.3g}, z {z:+.1f})."
        )
    else:
        sentence = (
            f"{value:g} is within your usual range."
            if z is not None
            else f"{value:g} is within your targets."
            if bounds is not None
            else f"There is no baseline yet to compare {value:g} with."
        )
    return Verdict(
        metric=metric_code,
        value=value,
        unusual=reason is not None,
        reason=reason,
        z=None if z is None else round(z, 2),
        usual=None if centre is None else round(centre, 3),
        spread=None if sd is None else round(sd, 3),
        targets=bounds,
        sentence=sentence,
    )


def baseline_for(state: TwinState, metric_code: str, ts_ms: int, tz_min: int) -> Baseline | None:
    """The baseline a value is judged against: its hour of the week once that has
    ``MIN_SLOT`` values, else the metric's overall baseline."""
    from lifetwin.capabilities.twin_state import TwinState

    slot = state.hourly.get(metric_code, {}).get(TwinState.slot(ts_ms, tz_min))
    if slot is not None and slot.n >= MIN_SLOT:
        return slot
    return state.overall.get(metric_code)


def assess(
    state: TwinState,
    metric_code: str,
    *,
    targets: tuple[float, float] | None = None,
    z_limit: float = UNUSUAL_Z,
) -> Verdict | None:
    """The newest value of a metric in a twin state, judged by :func:`unusual`."""
    if metric_code not in state.latest:
        return None
    ts_ms, value, tz_min = state.latest[metric_code]
    return unusual(
        metric_code,
        value,
        baseline_for(state, metric_code, ts_ms, tz_min),
        targets=targets,
        z_limit=z_limit,
    )


def glucose_targets(profile: dict[str, Any]) -> tuple[float, float]:
    """The person's glucose targets from their profile (70-180 mg/dL unless set)."""
    low = profile.get("glucose_low_mg_dl")
    high = profile.get("glucose_high_mg_dl")
    return (
        float(low) if isinstance(low, int | float) else DEFAULT_GLUCOSE_TARGETS[0],
        float(high) if isinstance(high, int | float) else DEFAULT_GLUCOSE_TARGETS[1],
    )
