"""Personal insights between daily metrics, computed honestly and said plainly.

For every ordered pair of daily metrics (A, B) and every lag of 0, 1 or 2 days, the days
are split at A's median and B is compared between A's high and low days: the difference
of means with its 95 % confidence interval (Welch), and a p-value from Welch's t-test.
All the tests together are controlled with Benjamini–Hochberg at the chosen false
discovery rate, pairs need a minimum number of days, and every sentence says it is an
association in the person's own data, not a cause.

Pairs that are one physiology measured two ways — heart rate and resting heart rate, a
metric and a score computed from it, steps and the distance or energy a watch derives
from them, systolic and diastolic pressure, mood and energy — are not tested at all
(:data:`RELATED`): they are not discoveries, and testing them would spend the false
discovery rate on the obvious.

Sentences say what a person would ("On days you walk 3,400 more steps, you sleep 21 min
longer"), with units and rounded to what the interval allows (:mod:`lifetwin.core.display`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from lifetwin.capabilities.daily import daily_values
from lifetwin.core.display import amount, number, span
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000
LAGS = (0, 1, 2)  # days from a cause to its effect

# Groups of metrics that measure one thing two ways (or one computed from another): a pair
# inside a group is never tested. Each group says why; a group with a hub (a score computed
# from the others) relates the hub to each member, not the members to each other.
Group = tuple[str, frozenset[str], str | None]
RELATED: tuple[Group, ...] = (
    (
        "heart rate and its daily summaries",
        frozenset({"heart_rate", "resting_heart_rate", "walking_heart_rate"}),
        None,
    ),
    (
        "energy burned is estimated from heart rate",
        frozenset({"heart_rate", "active_energy"}),
        None,
    ),
    ("energy burned, active and at rest", frozenset({"active_energy", "basal_energy"}), None),
    ("heart rate variability, two ways", frozenset({"hrv_sdnn", "hrv_rmssd"}), None),
    ("blood pressure", frozenset({"blood_pressure_systolic", "blood_pressure_diastolic"}), None),
    (
        "movement counted by the same watch",
        frozenset(
            {
                "steps",
                "distance",
                "active_energy",
                "flights_climbed",
                "exercise_minutes",
                "stand_minutes",
                "stand_hours",
            }
        ),
        None,
    ),
    (
        "a ride's distance, speed and power",
        frozenset({"distance_cycling", "speed", "cycling_power"}),
        None,
    ),
    (
        "a readiness score is computed from sleep, HRV, resting heart rate and temperature",
        frozenset(
            {
                "readiness_score",
                "sleep_duration",
                "hrv_sdnn",
                "hrv_rmssd",
                "resting_heart_rate",
                "skin_temperature_deviation",
                "body_temperature",
            }
        ),
        "readiness_score",
    ),
    ("one evening check-in", frozenset({"mood_valence", "energy_level", "stress_level"}), None),
    ("questionnaires of one sitting", frozenset({"phq9_score", "gad7_score"}), None),
    ("body size", frozenset({"body_mass", "bmi", "body_fat", "waist_circumference"}), None),
    ("one blood test", frozenset({"total_cholesterol", "hdl_cholesterol"}), None),
    ("glucose and its long-term average", frozenset({"glucose", "hba1c"}), None),
    (
        "insulin and what is left of it",
        frozenset({"insulin_delivered", "insulin_on_board"}),
        None,
    ),
    (
        "food and what it is made of",
        frozenset({"carbohydrates", "carbs_on_board", "dietary_energy", "protein", "fat_total"}),
        None,
    ),
    (
        "money moving and the balance it moves",
        frozenset({"transaction_amount", "account_balance"}),
        None,
    ),
    ("screens", frozenset({"screen_time", "media_minutes"}), None),
)


def related(a: str, b: str, groups: tuple[Group, ...] = RELATED) -> str | None:
    """Why two metrics are one thing measured two ways (None: they are not).

    >>> related("heart_rate", "resting_heart_rate")
    'heart rate and its daily summaries'
    >>> related("steps", "sleep_duration") is None, related("sleep_duration", "hrv_sdnn") is None
    (True, True)
    """
    for why, group, hub in groups:
        if a in group and b in group and (hub is None or hub in (a, b)):
            return why
    return None


# What a metric's change reads as: (higher, lower); {x} is the amount with its unit,
# {n} the bare number (for counts, whose noun the phrase carries).
PHRASES: dict[str, tuple[str, str]] = {
    "steps": ("you walk {n} more steps", "you walk {n} fewer steps"),
    "distance": ("you walk or run {x} further", "you walk or run {x} less"),
    "active_energy": ("you burn {x} more in activity", "you burn {x} less in activity"),
    "exercise_minutes": ("you exercise {x} longer", "you exercise {x} less"),
    "flights_climbed": ("you climb {n} more flights", "you climb {n} fewer flights"),
    "sleep_duration": ("you sleep {x} longer", "you sleep {x} less"),
    "mindful_minutes": ("you meditate {x} longer", "you meditate {x} less"),
    "heart_rate": ("your heart rate averages {x} higher", "your heart rate averages {x} lower"),
    "resting_heart_rate": (
        "your resting heart rate is {x} higher",
        "your resting heart rate is {x} lower",
    ),
    "hrv_sdnn": (
        "your heart rate variability is {x} higher",
        "your heart rate variability is {x} lower",
    ),
    "hrv_rmssd": (
        "your heart rate variability is {x} higher",
        "your heart rate variability is {x} lower",
    ),
    "mood_valence": ("your mood is {x} better", "your mood is {x} worse"),
    "energy_level": ("you feel {x} more energetic", "you feel {x} less energetic"),
    "stress_level": ("you feel {x} more stressed", "you feel {x} less stressed"),
    "glucose": ("your glucose averages {x} higher", "your glucose averages {x} lower"),
    "insulin_delivered": ("you take {x} more insulin", "you take {x} less insulin"),
    "carbohydrates": ("you eat {x} more carbohydrates", "you eat {x} fewer carbohydrates"),
    "dietary_energy": ("you eat {x} more", "you eat {x} less"),
    "caffeine": ("you have {x} more caffeine", "you have {x} less caffeine"),
    "alcoholic_drinks": ("you have {n} more drinks", "you have {n} fewer drinks"),
    "water": ("you drink {x} more water", "you drink {x} less water"),
    "body_mass": ("you weigh {x} more", "you weigh {x} less"),
    "screen_time": ("you spend {x} more on screens", "you spend {x} less on screens"),
    "study_minutes": ("you study {x} longer", "you study {x} less"),
}
_WHEN = {0: "On days {cause}", 1: "The day after {cause}", 2: "Two days after {cause}"}


def _described(code: str) -> tuple[str, str]:
    """(name, canonical unit) of a metric code, or the code itself for columns of no metric."""
    from lifetwin.core.errors import UnknownMetricError
    from lifetwin.core.vocabulary import metric

    try:
        m = metric(code)
    except UnknownMetricError:
        return code.replace("_", " "), ""
    return m.name.split(" (")[0], m.unit


def change_phrase(code: str, difference: float, unit: str) -> str:
    """How a difference of a metric reads ("you sleep 21 min longer").

    >>> change_phrase("sleep_duration", 21.4, "min")
    'you sleep 21 min longer'
    >>> change_phrase("steps", -3412.0, "count")
    'you walk 3,400 fewer steps'
    """
    size = abs(difference)
    x = amount(size, unit, code, change=True)
    n = number(size, significant=2)
    if code in PHRASES:
        up, down = PHRASES[code]
        return (up if difference > 0 else down).format(x=x, n=n)
    name = _described(code)[0].lower()
    return f"your {name} is {x} {'higher' if difference > 0 else 'lower'}"


@dataclass(frozen=True)
class Insight:
    cause: str  # the metric whose high days are compared ("A")
    effect: str  # the metric compared ("B")
    lag_days: int
    threshold: float  # A's median
    difference: float  # mean of B on A's high days minus on A's low days
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    days_high: int
    days_low: int
    unit: str
    sentence: str
    headline: str = ""  # the finding in one plain sentence
    cause_name: str = ""
    effect_name: str = ""
    cause_unit: str = ""
    cause_difference: float = 0.0  # mean of A on its high days minus on its low days
    effect_high: float = 0.0  # mean of B on A's high days
    effect_low: float = 0.0  # mean of B on A's low days


@dataclass(frozen=True)
class Comparison:
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_high: int
    n_low: int
    threshold: float
    cause_difference: float
    effect_high: float
    effect_low: float


def benjamini_hochberg(p_values: F64) -> F64:
    """BH-adjusted q-values (monotone, capped at 1).

    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    n = len(p_values)
    if not n:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def compare(a: F64, b: F64, lag: int) -> Comparison:
    """B after A's high days (above A's median) against B after A's other days."""
    x, y = (a[:-lag], b[lag:]) if lag else (a, b)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    threshold = float(np.median(x)) if len(x) else float("nan")
    above = x > threshold
    high, low = y[above], y[~above]
    nan = float("nan")
    if len(high) < 5 or len(low) < 5 or np.std(y) == 0:
        return Comparison(nan, nan, nan, nan, len(high), len(low), threshold, nan, nan, nan)
    # Near-identical samples make scipy warn about precision; the p-value is still right.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_ind(high, low, equal_var=False)
        se = float(np.sqrt(np.var(high, ddof=1) / len(high) + np.var(low, ddof=1) / len(low)))
        dof = float(test.df) if hasattr(test, "df") else len(high) + len(low) - 2
        margin = float(stats.t.ppf(0.975, dof)) * se
    diff = float(np.mean(high) - np.mean(low))
    return Comparison(
        diff,
        diff - margin,
        diff + margin,
        float(test.pvalue),
        len(high),
        len(low),
        threshold,
        float(np.mean(x[above]) - np.mean(x[~above])),
        float(np.mean(high)),
        float(np.mean(low)),
    )


def _insight(cause: str, effect: str, lag: int, r: Comparison, q: float, unit: str) -> Insight:
    cause_name, cause_unit = _described(cause)
    effect_name, effect_unit = _described(effect)
    unit = unit or effect_unit
    outcome = change_phrase(effect, r.difference, unit)
    headline = (
        _WHEN[lag].format(cause=change_phrase(cause, r.cause_difference, cause_unit))
        + f", {outcome}{'' if 'average' in outcome else ' on average'}."
    )
    detail = (
        f"Days above your median {cause_name.lower()} of "
        f"{amount(r.threshold, cause_unit, cause)} against your other days: 95 % interval "
        f"{span(r.ci_low, r.ci_high, unit, effect)}, {r.n_high} vs {r.n_low} days. This is an "
        "association in your own data, not proof that one causes the other."
    )
    return Insight(
        cause,
        effect,
        lag,
        r.threshold,
        r.difference,
        r.ci_low,
        r.ci_high,
        r.p_value,
        q,
        r.n_high,
        r.n_low,
        unit,
        f"{headline} {detail}",
        headline,
        cause_name,
        effect_name,
        cause_unit,
        r.cause_difference,
        r.effect_high,
        r.effect_low,
    )


def pairs(
    names: list[str],
    lags: tuple[int, ...],
    groups: tuple[Group, ...] = RELATED,
) -> tuple[list[tuple[str, str, int]], int]:
    """The (cause, effect, lag) tests to run, and how many were left out as related."""
    kept, left_out = [], 0
    for cause in names:
        for effect in names:
            if cause == effect:
                continue
            if related(cause, effect, groups):
                left_out += len(lags)
                continue
            kept += [(cause, effect, lag) for lag in lags]
    return kept, left_out


def find_insights(
    table: dict[str, F64],
    units: dict[str, str],
    *,
    min_days: int = 28,
    fdr: float = 0.05,
    lags: tuple[int, ...] = LAGS,
    groups: tuple[Group, ...] = RELATED,
) -> list[Insight]:
    """Insights between the columns of a daily table (NaN where a day has no value),
    strongest evidence first; pairs related by ``groups`` (:data:`RELATED`) are not
    tested (``groups=()`` tests every pair)."""
    tested: list[tuple[str, str, int, Comparison]] = []
    for cause, effect, lag in pairs(sorted(table), lags, groups)[0]:
        result = compare(table[cause], table[effect], lag)
        if np.isfinite(result.p_value) and result.n_high + result.n_low >= min_days:
            tested.append((cause, effect, lag, result))
    if not tested:
        return []
    q_values = benjamini_hochberg(np.array([t[3].p_value for t in tested]))
    found = [
        _insight(cause, effect, lag, r, float(q), units.get(effect, ""))
        for (cause, effect, lag, r), q in zip(tested, q_values, strict=True)
        if q <= fdr
    ]
    # Strongest evidence first; among equals, the larger effect against its interval.
    return sorted(
        found, key=lambda i: (i.q_value, -abs(i.difference) / max(i.ci_high - i.ci_low, 1e-12))
    )


def daily_table(
    vault: Vault, purpose: Purpose = Purpose.TWIN_CORE, min_days: int = 28
) -> tuple[dict[str, F64], dict[str, str]]:
    """One value per local day and numeric metric: sums for interval metrics, else means."""
    columns: dict[str, dict[int, float]] = {}
    units: dict[str, str] = {}
    for code in sorted({s.metric for s in vault.streams() if s.numeric}):
        series = vault.read_series(code, purpose=purpose)
        by_day = daily_values(series)
        if len(by_day) < min_days:
            continue
        columns[code] = by_day
        units[code] = series.unit
    if not columns:
        return {}, {}
    first = min(min(c) for c in columns.values())
    last = max(max(c) for c in columns.values())
    table = {}
    for code, by_day in columns.items():
        column = np.full(last - first + 1, np.nan)
        for day, value in by_day.items():
            column[day - first] = value
        table[code] = column
    return table, units
